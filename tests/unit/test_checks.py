"""Stage 1's checks with fake DNS answers and counters: each refuses with its reason and the
reply the sending server sees, and has no opinion otherwise."""

from __future__ import annotations

import ipaddress
from dataclasses import replace

import pytest

from functions.receive import checks
from functions.receive.checks import Refusal, Services, Stage, SystemPolicy, Transaction
from mailgate.catalog import BlockReason as R
from mailgate.catalog import Direction
from mailgate.dns import DnsUnavailable, DomainStatus
from mailgate.peer import Peer
from mailgate.tenant_config import (
    DomainConfig,
    IpReputation,
    Limits,
    MailServer,
    Outbound,
    RateLimit,
    RateLimits,
    ReverseDns,
    SenderFilter,
    TenantConfig,
    TlsPeer,
)
from tests.support.fakes import FakeCounters, FakeLookups

INBOUND, OUTBOUND = Direction.INBOUND, Direction.OUTBOUND
TENANT = "tenant-a"
CLIENT = "198.51.100.7"
SENDER = "alice@sender.example"
RECIPIENT = "bob@example.com"
DOMAIN = DomainConfig(
    name="example.com",
    inbound_servers=[MailServer(host="10.0.0.25")],
    outbound=Outbound(enabled=True, sending_servers=[f"{CLIENT}/32"]),
)
ZONE = "qil.lists.example"


def transaction(
    direction: Direction = INBOUND,
    config: TenantConfig | None = None,
    *,
    ip: str = CLIENT,
    helo: str = "mail.sender.example",
    tls: str = "TLSv1.3",
    sender: str = SENDER,
    recipient: str = RECIPIENT,
    domain: DomainConfig = DOMAIN,
    declared_size: int | None = None,
    raw: bytes = b"",
) -> Transaction:
    return Transaction(
        peer=Peer(direction=direction, ip=ip, helo=helo, tls=tls),
        sender=sender,
        tenant_id=TENANT,
        config=config or TenantConfig(domains=[domain]),
        domain=domain,
        declared_size=declared_size,
        recipient=recipient,
        raw=raw,
    )


def services(
    lookups: FakeLookups | None = None,
    counters: FakeCounters | None = None,
    system: SystemPolicy | None = None,
) -> Services:
    return Services(
        lookups=lookups or FakeLookups(),
        counters=counters or FakeCounters(),
        system=system or SystemPolicy(reputation_zones={"qil": ZONE}),
    )


def run(stage: Stage, tx: Transaction, s: Services | None = None) -> Refusal | None:
    return checks.run(stage, tx, s or services())


def replace_domain(**fields: object) -> DomainConfig:
    return DOMAIN.model_copy(update=fields)


def stage_of(direction: Direction) -> Stage:
    """Where a tenant's connection checks run: RCPT inbound, MAIL on the relay."""
    return "rcpt" if direction is INBOUND else "mail"


def test_a_clean_transaction_passes_every_stage_in_both_directions() -> None:
    for direction in (INBOUND, OUTBOUND):
        tx = transaction(direction, raw=b"Subject: hi\r\n\r\nHello.\r\n")
        for stage in ("mail", "rcpt", "data"):
            assert run(stage, tx) is None, (direction, stage)


# -- the client's address ------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [INBOUND, OUTBOUND])
def test_the_system_block_list_refuses_the_client_address(direction: Direction) -> None:
    system = SystemPolicy(blocked_networks=(ipaddress.ip_network("198.51.100.0/24"),))

    refusal = run(stage_of(direction), transaction(direction), services(system=system))

    assert refusal == Refusal(
        R.SENDER_IP_BLOCKED, f"554 5.7.1 Client address [{CLIENT}] is blocked"
    )


def test_relaying_needs_outbound_protection_on_the_senders_domain() -> None:
    disabled = replace_domain(outbound=Outbound(enabled=False))

    refusal = run("mail", transaction(OUTBOUND, domain=disabled))

    assert refusal == Refusal(
        R.OTHER,
        "550 5.7.1 Relay access denied: outbound protection is not enabled for example.com",
    )


def test_relaying_needs_a_registered_sending_server() -> None:
    refusal = run("mail", transaction(OUTBOUND, ip="203.0.113.9"))

    assert refusal is not None
    assert refusal.reason is R.SENDER_IP_NOT_ALLOWED
    assert refusal.reply == (
        "554 5.7.1 Relay access denied: [203.0.113.9] is not a registered sending server "
        "of example.com"
    )


def test_the_tenants_block_list_refuses_an_address_or_a_country() -> None:
    by_network = TenantConfig(ip_reputation=IpReputation(blocked_ips=["198.51.100.0/28"]))
    by_country = TenantConfig(ip_reputation=IpReputation(blocked_countries=["KP"]))
    lookups = FakeLookups(countries={CLIENT: "KP"})

    for config, s in ((by_network, services()), (by_country, services(lookups))):
        refusal = run("rcpt", transaction(config=config), s)
        assert refusal == Refusal(
            R.SENDER_IP_BLOCKLIST,
            f"554 5.7.1 Client address [{CLIENT}] is blocked by the recipient's policy",
        )
    assert run("rcpt", transaction(config=by_country), services()) is None, "another country"


def test_an_address_on_a_reputation_list_is_refused() -> None:
    lookups = FakeLookups(listings={(CLIENT, ZONE)})

    refusal = run("rcpt", transaction(), services(lookups))

    assert refusal == Refusal(
        R.SENDER_IP_QIL,
        f"554 5.7.1 Client address [{CLIENT}] is listed in the QIL reputation list",
    )


def test_a_reputation_list_the_tenant_turned_off_or_without_a_zone_has_no_say() -> None:
    lookups = FakeLookups(listings={(CLIENT, ZONE)})
    off = TenantConfig(ip_reputation=IpReputation(lists={"qil": False}))
    no_zone = services(lookups, system=SystemPolicy())

    assert run("rcpt", transaction(config=off), services(lookups)) is None
    assert run("rcpt", transaction(), no_zone) is None


def test_the_tenants_approved_addresses_skip_the_reputation_lists() -> None:
    lookups = FakeLookups(listings={(CLIENT, ZONE)})
    approved = TenantConfig(ip_reputation=IpReputation(approved_ips=[CLIENT]))

    assert run("rcpt", transaction(config=approved), services(lookups)) is None


def test_reverse_dns_is_checked_only_when_the_tenant_asks() -> None:
    no_ptr = services(FakeLookups())
    required = TenantConfig(reverse_dns=ReverseDns(enabled=True))

    assert run("rcpt", transaction(), no_ptr) is None
    assert run("rcpt", transaction(config=required), no_ptr) == Refusal(
        R.REVERSE_DNS_FAILED, f"550 5.7.25 Reverse DNS validation failed for [{CLIENT}]"
    )


def test_forward_confirmed_reverse_dns_needs_a_name_that_resolves_back() -> None:
    confirmed = TenantConfig(reverse_dns=ReverseDns(enabled=True, forward_confirmed=True))
    unconfirmed = FakeLookups(ptr={CLIENT: ["mail.sender.example"]})
    verified = replace(unconfirmed, verified={CLIENT: ["mail.sender.example"]})

    refusal = run("rcpt", transaction(config=confirmed), services(unconfirmed))
    assert refusal is not None and refusal.reason is R.REVERSE_DNS_FAILED
    assert run("rcpt", transaction(config=confirmed), services(verified)) is None


# -- TLS -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("direction", [INBOUND, OUTBOUND])
def test_a_tls_peer_without_tls_must_issue_starttls(direction: Direction) -> None:
    config = TenantConfig(domains=[DOMAIN], tls_peers=[TlsPeer(peer="198.51.100.0/24")])

    refusal = run(stage_of(direction), transaction(direction, config, tls="none"))

    assert refusal == Refusal(R.TLS_NOT_AVAILABLE, "530 5.7.0 Must issue a STARTTLS command first")


def test_a_tls_peer_below_its_minimum_version_is_told_both_versions() -> None:
    config = TenantConfig(tls_peers=[TlsPeer(peer="198.51.100.7", min_version="TLSv1.3")])

    refusal = run("rcpt", transaction(config=config, tls="TLSv1.2"))

    assert refusal == Refusal(
        R.TLS_NOT_AVAILABLE, "530 5.7.0 TLS TLSv1.2 is below the TLSv1.3 this peer must use"
    )
    assert run("rcpt", transaction(config=config, tls="TLSv1.3")) is None


def test_a_tls_peer_domain_matches_the_helo_name_or_a_verified_ptr_name() -> None:
    config = TenantConfig(tls_peers=[TlsPeer(peer="partner.example")])
    verified = FakeLookups(verified={CLIENT: ["mx1.partner.example"]})

    by_helo = run("rcpt", transaction(config=config, helo="out.partner.example", tls="none"))
    by_ptr = run("rcpt", transaction(config=config, tls="none"), services(verified))
    other = run("rcpt", transaction(config=config, tls="none"))

    assert by_helo is not None and by_helo.reason is R.TLS_NOT_AVAILABLE
    assert by_ptr is not None and by_ptr.reason is R.TLS_NOT_AVAILABLE
    assert other is None, "a client that is not the peer may send in the clear"


# -- sender and recipient ------------------------------------------------------------------------


def test_a_blocked_sender_pattern_is_refused_and_the_null_sender_is_not() -> None:
    config = TenantConfig(sender_filter=SenderFilter(blocked_senders=["*@sender.example"]))

    refusal = run("rcpt", transaction(config=config))

    assert refusal == Refusal(
        R.SENDER_BLOCKED, f"550 5.7.1 <{SENDER}>: Sender address rejected: blocked by policy"
    )
    assert run("rcpt", transaction(config=config, sender="")) is None


@pytest.mark.parametrize(
    ("status", "reason", "reply"),
    [
        (
            DomainStatus.NOT_FOUND,
            R.SENDER_DOMAIN_NOT_FOUND,
            f"550 5.1.8 <{SENDER}>: Sender address rejected: domain not found",
        ),
        (
            DomainStatus.MALFORMED,
            R.SENDER_DOMAIN_MALFORMED,
            f"550 5.1.8 <{SENDER}>: Sender address rejected: domain has no usable mail server",
        ),
    ],
)
@pytest.mark.parametrize("direction", [INBOUND, OUTBOUND])
def test_a_sender_domain_that_cannot_receive_mail_is_refused(
    direction: Direction, status: DomainStatus, reason: R, reply: str
) -> None:
    lookups = FakeLookups(domains={"sender.example": status})

    refusal = run(stage_of(direction), transaction(direction), services(lookups))

    assert refusal == Refusal(reason, reply)


def test_the_null_sender_has_no_domain_to_check() -> None:
    # Given DNS that fails for any name: the null sender's check asks it nothing
    lookups = FakeLookups(unavailable={"", "sender.example"})

    assert run("rcpt", transaction(sender=""), services(lookups)) is None


@pytest.mark.parametrize("direction", [INBOUND, OUTBOUND])
def test_the_system_recipient_block_list_applies_in_both_directions(direction: Direction) -> None:
    system = SystemPolicy(blocked_recipients=("bob@*",))

    refusal = run("rcpt", transaction(direction), services(system=system))

    assert refusal == Refusal(
        R.RECIPIENT_BLOCKED, f"550 5.7.1 <{RECIPIENT}>: Recipient address rejected: blocked"
    )


def test_only_the_domains_valid_recipients_are_taken_when_it_lists_them() -> None:
    listed = replace_domain(valid_recipients=["carol@example.com", "sales-*@example.com"])

    refusal = run("rcpt", transaction(domain=listed))

    assert refusal == Refusal(
        R.RECIPIENT_INVALID, f"550 5.1.1 <{RECIPIENT}>: Recipient address rejected: no such user"
    )
    assert run("rcpt", transaction(domain=listed, recipient="sales-jp@example.com")) is None
    assert run("rcpt", transaction()) is None, "a domain listing none takes every recipient"


@pytest.mark.parametrize(
    ("status", "reason", "reply"),
    [
        (
            DomainStatus.NOT_FOUND,
            R.RECIPIENT_DOMAIN_NOT_FOUND,
            "550 5.1.2 <x@far.example>: Recipient address rejected: domain not found",
        ),
        (
            DomainStatus.MALFORMED,
            R.RECIPIENT_DOMAIN_MALFORMED,
            "556 5.1.10 <x@far.example>: Recipient address rejected: domain accepts no mail",
        ),
    ],
)
def test_a_relayed_recipient_domain_that_cannot_receive_mail_is_refused(
    status: DomainStatus, reason: R, reply: str
) -> None:
    lookups = FakeLookups(domains={"far.example": status})
    tx = transaction(OUTBOUND, recipient="x@far.example")

    assert run("rcpt", tx, services(lookups)) == Refusal(reason, reply)
    assert run("rcpt", transaction(INBOUND, recipient="x@far.example"), services(lookups)) is None


@pytest.mark.parametrize("direction", [INBOUND, OUTBOUND])
def test_a_dns_failure_propagates_so_the_front_answers_a_temporary_failure(
    direction: Direction,
) -> None:
    lookups = FakeLookups(unavailable={"sender.example"})

    with pytest.raises(DnsUnavailable):
        run(stage_of(direction), transaction(direction), services(lookups))


# -- size and content ----------------------------------------------------------------------------

TOO_BIG = Refusal(R.MESSAGE_TOO_BIG, "552 5.3.4 Message size exceeds fixed maximum message size")
SMALL = TenantConfig(domains=[DOMAIN], limits=Limits(max_message_bytes=1024))


@pytest.mark.parametrize("direction", [INBOUND, OUTBOUND])
def test_a_declared_size_above_the_tenants_maximum_is_refused_before_the_data(
    direction: Direction,
) -> None:
    assert run(stage_of(direction), transaction(direction, SMALL, declared_size=1025)) == TOO_BIG
    assert run(stage_of(direction), transaction(direction, SMALL, declared_size=1024)) is None


def test_data_above_the_tenants_maximum_is_refused() -> None:
    assert run("data", transaction(config=SMALL, raw=b"x" * 1025)) == TOO_BIG
    assert run("data", transaction(config=SMALL, raw=b"x" * 1024)) is None


@pytest.mark.parametrize("raw", [b"Subject: a\nb\r\n", b"Subject: a\rb\r\n"], ids=["LF", "CR"])
def test_a_bare_line_ending_is_refused(raw: bytes) -> None:
    assert run("data", transaction(raw=raw)) == Refusal(
        R.OTHER, "550 5.6.0 Message contains a bare CR or LF; lines must end with CRLF"
    )


# -- rate limits ---------------------------------------------------------------------------------

PER_DAY = 86_400


def limited(direction: Direction = INBOUND, **limits: RateLimit) -> TenantConfig:
    rates = RateLimits(**limits)
    side = {"inbound": rates} if direction is INBOUND else {"outbound": rates}
    return TenantConfig(domains=[DOMAIN], limits=Limits(**side))


def test_a_message_count_already_at_its_limit_is_refused_at_rcpt() -> None:
    config = limited(count_ip=RateLimit(limit=2, window_s=PER_DAY))
    counters = FakeCounters()
    raw = b"Subject: hi\r\n\r\n"

    # Given two messages counted for this tenant, direction and client
    for _ in range(2):
        tx = transaction(config=config, raw=raw)
        assert counters.add_all([increment for _, increment in checks.increments(tx)]) is None

    # Then a third is refused before its data is sent
    refusal = run("rcpt", transaction(config=config), services(counters=counters))
    assert refusal == Refusal(
        R.RATE_LIMIT_COUNT_IP, f"450 4.7.1 Too many messages from [{CLIENT}], try again later"
    )
    # And the other direction's count is its own
    relay = transaction(OUTBOUND, limited(OUTBOUND, count_ip=RateLimit(limit=2, window_s=PER_DAY)))
    assert run("rcpt", relay, services(counters=counters)) is None


def test_each_configured_limit_counts_what_the_message_adds_and_only_those() -> None:
    config = limited(
        count_address=RateLimit(limit=10, window_s=3600),
        size_domain=RateLimit(limit=5000, window_s=PER_DAY),
    )

    counted = checks.increments(transaction(config=config, raw=b"x" * 300))

    assert [(reason, i.amount, i.limit, i.window_s) for reason, i in counted] == [
        (R.RATE_LIMIT_COUNT_ADDRESS, 1, 10, 3600),
        (R.RATE_LIMIT_SIZE_DOMAIN, 300, 5000, PER_DAY),
    ]


def test_a_message_that_would_pass_a_size_limit_is_refused_and_counts_nothing() -> None:
    config = limited(
        count_ip=RateLimit(limit=100, window_s=PER_DAY),
        size_ip=RateLimit(limit=1000, window_s=PER_DAY),
    )
    counters = FakeCounters()
    tx = transaction(config=config, raw=b"x" * 1001)

    counted = checks.increments(tx)
    over = counters.add_all([increment for _, increment in counted])

    assert over == 1
    assert checks.refuse(counted[over][0], tx) == Refusal(
        R.RATE_LIMIT_SIZE_IP, f"451 4.7.1 Too much data from [{CLIENT}], try again later"
    )
    assert counters.counts == {}, "a refused message counts against no limit"


def test_the_null_sender_is_counted_and_named_as_the_null_sender() -> None:
    config = limited(size_domain=RateLimit(limit=10, window_s=PER_DAY))
    tx = transaction(config=config, sender="", raw=b"x" * 11)

    [(reason, increment)] = checks.increments(tx)

    assert increment.key.endswith("#size_domain#<>")
    assert checks.refuse(reason, tx).reply == "451 4.7.1 Too much data from <>, try again later"
