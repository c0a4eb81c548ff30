"""The SMTP front's domain directory: one table read per domain per 30 seconds, misses
included, whatever the case or trailing dot of the name the client sent."""

from __future__ import annotations

import pytest

from functions.receive.routing import DomainDirectory, domain_of
from mailgate.tenant_config import Domain, MailServer

EXAMPLE = Domain(
    name="example.com", tenant_id="t-1", inbound_servers=[MailServer(host="mx.example.com")]
)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeLookup:
    """The tenants table: answers from a dict and counts the reads per name."""

    def __init__(self, domains: dict[str, Domain]) -> None:
        self.domains = domains
        self.reads: list[str] = []

    def __call__(self, name: str) -> Domain | None:
        self.reads.append(name)
        return self.domains.get(name)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def lookup() -> FakeLookup:
    return FakeLookup({"example.com": EXAMPLE})


@pytest.fixture
def directory(lookup: FakeLookup, clock: FakeClock) -> DomainDirectory:
    return DomainDirectory(lookup, clock=clock)


def test_a_managed_domain_is_found(directory: DomainDirectory) -> None:
    assert directory.find("example.com") == EXAMPLE


def test_a_second_lookup_within_30_seconds_reads_nothing(
    directory: DomainDirectory, lookup: FakeLookup, clock: FakeClock
) -> None:
    # Given a domain looked up once
    directory.find("example.com")

    # When it is looked up again just before 30 seconds have passed
    clock.advance(29.999)
    found = directory.find("example.com")

    # Then the cached answer is given without a second read
    assert found == EXAMPLE
    assert lookup.reads == ["example.com"]


def test_after_30_seconds_the_table_is_read_again_and_its_new_answer_wins(
    directory: DomainDirectory, lookup: FakeLookup, clock: FakeClock
) -> None:
    # Given a cached domain that the tenant then removes
    directory.find("example.com")
    del lookup.domains["example.com"]

    # When 30 seconds have passed
    clock.advance(30)

    # Then the removal is seen
    assert directory.find("example.com") is None
    assert lookup.reads == ["example.com", "example.com"]


def test_an_unknown_domain_is_cached_too(
    directory: DomainDirectory, lookup: FakeLookup, clock: FakeClock
) -> None:
    # Given a domain that is not managed, looked up twice within 30 seconds
    first = directory.find("unknown.example")
    clock.advance(10)
    second = directory.find("unknown.example")

    # Then both answers are "not managed" from one read
    assert first is None
    assert second is None
    assert lookup.reads == ["unknown.example"]


def test_a_domain_added_after_a_miss_is_found_once_the_miss_expires(
    directory: DomainDirectory, lookup: FakeLookup, clock: FakeClock
) -> None:
    assert directory.find("new.example") is None
    new = Domain(name="new.example", tenant_id="t-2", inbound_servers=[])
    lookup.domains["new.example"] = new

    clock.advance(29)
    assert directory.find("new.example") is None

    clock.advance(1)
    assert directory.find("new.example") == new


@pytest.mark.parametrize("spelling", ["EXAMPLE.COM", "Example.Com", "example.com.", "ExAmple.COM."])
def test_case_and_a_trailing_dot_do_not_matter(
    directory: DomainDirectory, lookup: FakeLookup, spelling: str
) -> None:
    # Given the canonical name already looked up
    directory.find("example.com")

    # When another spelling is looked up, Then it is the same cached domain
    assert directory.find(spelling) == EXAMPLE
    assert lookup.reads == ["example.com"]


def test_the_table_is_asked_for_the_canonical_name(
    directory: DomainDirectory, lookup: FakeLookup
) -> None:
    assert directory.find("MAIL.Example.ORG.") is None
    assert lookup.reads == ["mail.example.org"]


def test_each_domain_has_its_own_cache_entry(
    directory: DomainDirectory, lookup: FakeLookup, clock: FakeClock
) -> None:
    directory.find("example.com")
    clock.advance(20)
    directory.find("other.example")
    clock.advance(15)  # example.com is 35 s old, other.example 15 s

    directory.find("example.com")
    directory.find("other.example")

    assert lookup.reads == ["example.com", "other.example", "example.com"]


def test_a_failing_lookup_is_not_cached(clock: FakeClock) -> None:
    # Given a table that fails once, then answers
    calls: list[str] = []

    def flaky(name: str) -> Domain | None:
        calls.append(name)
        if len(calls) == 1:
            raise ConnectionError("table unavailable")
        return EXAMPLE

    directory = DomainDirectory(flaky, clock=clock)

    # When the first lookup fails
    with pytest.raises(ConnectionError):
        directory.find("example.com")

    # Then the next one reads the table again at once
    assert directory.find("example.com") == EXAMPLE


@pytest.mark.parametrize(
    ("address", "domain"),
    [
        ("alice@example.com", "example.com"),
        ("Alice@EXAMPLE.Com", "example.com"),
        ('"a@b"@example.org', "example.org"),
        ("user@sub.domain.example", "sub.domain.example"),
    ],
)
def test_domain_of_is_the_lowercased_part_after_the_last_at(address: str, domain: str) -> None:
    assert domain_of(address) == domain
