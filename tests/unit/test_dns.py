"""MX resolution (RFC 5321 5.1) against a real DNS server on loopback: which addresses stage 3
connects to, and which failures are permanent (bounce) or temporary (retry)."""

from __future__ import annotations

from collections.abc import Iterator

import dns.resolver
import pytest

from functions.deliver.routing import Server, mx_servers
from mailgate.dns import DnsUnavailable, DomainNotFound, resolver
from tests.support.dns_server import LoopbackDns

PORT = 25

ZONE: dict[tuple[str, str], list[str]] = {
    # MX listed out of order: preference decides, not the order of the answer
    ("ordered.example", "MX"): ["20 mx-b.ordered.example.", "10 mx-a.ordered.example."],
    ("mx-a.ordered.example", "A"): ["192.0.2.1", "192.0.2.2"],
    ("mx-b.ordered.example", "A"): ["192.0.2.3"],
    ("mx-b.ordered.example", "AAAA"): ["2001:db8::3"],
    # no MX: the domain itself is the mail server (implicit MX)
    ("implicit.example", "A"): ["198.51.100.5"],
    ("implicit.example", "TXT"): ['"v=spf1 -all"'],
    # RFC 7505 null MX: this domain accepts no mail
    ("nullmx.example", "MX"): ["0 ."],
    ("nullmx.example", "A"): ["198.51.100.6"],
    # an MX host that has no address at all
    ("noaddress.example", "MX"): ["10 ghost.noaddress.example."],
    ("ghost.noaddress.example", "TXT"): ['"nothing here"'],
    # a known name without MX or address
    ("txtonly.example", "TXT"): ['"hello"'],
    # MX whose second host does not exist: the first one still counts
    ("half.example", "MX"): ["10 mx.half.example.", "20 gone.half.example."],
    ("mx.half.example", "A"): ["203.0.113.9"],
    # MX pointing at a host whose lookups time out
    ("slowhost.example", "MX"): ["10 mx.slow.example."],
    # three MX of equal preference and a backup
    ("equal.example", "MX"): [
        "10 a.equal.example.",
        "10 b.equal.example.",
        "10 c.equal.example.",
        "20 backup.equal.example.",
    ],
    **{(f"{h}.equal.example", "A"): ["192.0.2.50"] for h in ("a", "b", "c", "backup")},
    # a healthy primary MX and a backup MX whose lookups time out
    ("backupslow.example", "MX"): ["10 mx.backupslow.example.", "20 mx.slow.example."],
    ("mx.backupslow.example", "A"): ["203.0.113.20"],
}


@pytest.fixture(scope="module")
def server() -> Iterator[LoopbackDns]:
    with LoopbackDns(
        ZONE, silent=["silent.example", "mx.slow.example"], servfail=["broken.example"]
    ) as running:
        yield running


@pytest.fixture(scope="module")
def res(server: LoopbackDns) -> dns.resolver.Resolver:
    return resolver([server.address], timeout=0.5)


def mail_servers(domain: str, res: dns.resolver.Resolver, port: int) -> list[str]:
    """The addresses to try, in order."""
    return [server.address for server in mx_servers(domain, res, port)]


def servers(*addresses: str) -> list[str]:
    return list(addresses)


def test_mx_hosts_are_used_by_preference_each_with_all_its_addresses(
    res: dns.resolver.Resolver,
) -> None:
    # Given MX records answered in the reverse order of their preference
    # When / Then mx-a (10) comes before mx-b (20), each host's IPv4 before its IPv6
    assert mail_servers("ordered.example", res, PORT) == servers(
        "192.0.2.1", "192.0.2.2", "192.0.2.3", "2001:db8::3"
    )


def test_each_address_carries_its_mx_host_name_and_the_port_given(
    res: dns.resolver.Resolver,
) -> None:
    assert mx_servers("ordered.example", res, 2525) == [
        Server("mx-a.ordered.example", "192.0.2.1", 2525),
        Server("mx-a.ordered.example", "192.0.2.2", 2525),
        Server("mx-b.ordered.example", "192.0.2.3", 2525),
        Server("mx-b.ordered.example", "2001:db8::3", 2525),
    ]


def test_mx_hosts_of_equal_preference_are_tried_in_random_order(
    res: dns.resolver.Resolver,
) -> None:
    # Given three hosts of preference 10 and a backup of 20
    # When resolved many times
    orders = {
        tuple(dict.fromkeys(s.name for s in mx_servers("equal.example", res, PORT)))
        for _ in range(40)
    }

    # Then each of the equal hosts comes first sometimes, and the backup always last
    firsts = {order[0] for order in orders}
    assert firsts == {"a.equal.example", "b.equal.example", "c.equal.example"}
    assert {order[-1] for order in orders} == {"backup.equal.example"}


def test_a_domain_without_mx_but_with_an_address_is_its_own_mail_server(
    res: dns.resolver.Resolver,
) -> None:
    assert mail_servers("implicit.example", res, PORT) == servers("198.51.100.5")


def test_the_domain_name_is_case_and_trailing_dot_insensitive(
    res: dns.resolver.Resolver,
) -> None:
    assert mail_servers("Implicit.EXAMPLE.", res, PORT) == servers("198.51.100.5")


def test_a_null_mx_is_a_domain_that_accepts_no_mail(res: dns.resolver.Resolver) -> None:
    # Given a domain publishing "MX 0 ." (RFC 7505), even though it has an address
    # When / Then it is refused as permanent, so its mail bounces at once
    with pytest.raises(DomainNotFound, match="null MX"):
        mail_servers("nullmx.example", res, PORT)


def test_a_domain_that_does_not_exist_is_not_found(res: dns.resolver.Resolver) -> None:
    with pytest.raises(DomainNotFound, match="does not exist"):
        mail_servers("nowhere.example", res, PORT)


def test_an_mx_host_without_address_leaves_no_mail_server(res: dns.resolver.Resolver) -> None:
    with pytest.raises(DomainNotFound, match="no mail server with an address"):
        mail_servers("noaddress.example", res, PORT)


def test_a_domain_with_neither_mx_nor_address_is_not_found(res: dns.resolver.Resolver) -> None:
    with pytest.raises(DomainNotFound):
        mail_servers("txtonly.example", res, PORT)


def test_an_mx_host_that_does_not_exist_is_skipped(res: dns.resolver.Resolver) -> None:
    assert mail_servers("half.example", res, PORT) == servers("203.0.113.9")


def test_a_dns_server_that_does_not_answer_is_a_temporary_failure(
    res: dns.resolver.Resolver,
) -> None:
    with pytest.raises(DnsUnavailable, match=r"silent\.example"):
        mail_servers("silent.example", res, PORT)


def test_an_mx_host_whose_lookup_times_out_is_a_temporary_failure(
    res: dns.resolver.Resolver,
) -> None:
    with pytest.raises(DnsUnavailable, match=r"mx\.slow\.example"):
        mail_servers("slowhost.example", res, PORT)


def test_a_backup_mx_that_times_out_does_not_hold_mail_for_the_primary(
    res: dns.resolver.Resolver,
) -> None:
    assert mail_servers("backupslow.example", res, PORT) == servers("203.0.113.20")


def test_servfail_is_a_temporary_failure(res: dns.resolver.Resolver) -> None:
    with pytest.raises(DnsUnavailable):
        mail_servers("broken.example", res, PORT)


def test_the_configured_server_is_the_one_asked(server: LoopbackDns) -> None:
    # Given a fresh resolver on the loopback server only
    fresh = resolver([server.address], timeout=0.5)
    asked_before = len(server.queries)

    mail_servers("implicit.example", fresh, PORT)

    assert ("implicit.example.", "MX") in server.queries[asked_before:]


def test_a_server_given_with_a_port_sets_that_port() -> None:
    res = resolver(["127.0.0.1:5353"])

    assert res.nameservers == ["127.0.0.1"]
    assert res.port == 5353


def test_servers_without_port_use_port_53() -> None:
    res = resolver(["192.0.2.53", "192.0.2.54"], timeout=2.0)

    assert res.nameservers == ["192.0.2.53", "192.0.2.54"]
    assert res.port == 53
    assert res.lifetime == 2.0


def test_an_ipv6_server_is_taken_whole() -> None:
    res = resolver(["2001:db8::53"])

    assert res.nameservers == ["2001:db8::53"]
    assert res.port == 53
