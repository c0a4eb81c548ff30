"""Stage 1 through real SMTP: one test per block reason of ``mailgate.catalog.BlockReason``.

Each test gives a fresh tenant the configuration that triggers one check, talks SMTP to the
local gateway on loopback from the client address its story needs (127.0.0.0/8 is all local),
and asserts

- the reply: SMTP code and enhanced status code, at the stage where the check runs (MAIL on the
  relay, RCPT inbound, end of DATA for sizes and data-rate limits);
- the blocked row, found through the search API with the filters of the contract
  (``block_reasons``, ``recipients`` / ``senders``, ``sender_ip``, ``direction``);
- that nothing was stored in S3 for the refused message.

The tenant's configuration is written before its first mail: the front caches it for 30 s.
"""

from __future__ import annotations

import smtplib
import ssl
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from mailgate import aws, resources
from mailgate.catalog import BLOCK_REASONS, BlockReason, Direction
from mailgate.storage.tenants import CONFIG, TenantConfigStore
from mailgate.tenant_config import DomainConfig, TenantConfig
from tests.integration.conftest import (
    LISTED_IPS,
    NO_PTR_IP,
    STAGE1_RELAY_DOMAINS,
    SYSTEM_BLOCKED_IP,
    UNCONFIRMED_PTR_IP,
    Gateway,
)
from tests.support.api_client import ApiClient
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

R = BlockReason
INBOUND, OUTBOUND = Direction.INBOUND, Direction.OUTBOUND
CLEAN_IP = "127.0.0.1"  # listed nowhere; forward-confirmed PTR mail.sender.test
SENDER = "alice@sender.test"  # sender.test resolves: MX mail.sender.test → 127.0.0.1
# Limits are counted in fixed windows; a day-long window keeps two messages in one window.
WINDOW_S = 86_400


# -- SMTP ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reply:
    stage: str  # the command that was answered: "mail", "rcpt" or "data"
    code: int
    text: str  # the whole reply, as the gateway logs it: "550 5.1.1 <…>: …"

    @property
    def enhanced(self) -> str:
        return self.text.split()[1]


def _reply(stage: str, code: int, message: bytes) -> Reply:
    return Reply(stage, code, f"{code} {message.decode()}")


@contextmanager
def session(
    gateway: Gateway,
    source_ip: str = CLEAN_IP,
    relay: bool = False,
    helo: str = "client.sender.test",
    tls: ssl.SSLContext | None = None,
) -> Iterator[smtplib.SMTP]:
    host, port = gateway.relay if relay else gateway.smtp
    with smtplib.SMTP(host, port, timeout=15, source_address=(source_ip, 0)) as smtp:
        smtp.ehlo(helo)
        if tls is not None:
            code, _ = smtp.starttls(context=tls)
            assert code == 220
            smtp.ehlo(helo)
        yield smtp


def transact(
    smtp: smtplib.SMTP,
    sender: str,
    recipients: Sequence[str],
    raw: bytes | None = None,
    mail_options: Sequence[str] = (),
) -> Reply:
    """MAIL, RCPT for each recipient, then DATA when ``raw`` is given: the first reply that is
    not 250, or the last one."""
    code, text = smtp.mail(sender, list(mail_options))
    if code != 250:
        return _reply("mail", code, text)
    for recipient in recipients:
        code, text = smtp.rcpt(recipient)
        if code != 250:
            return _reply("rcpt", code, text)
    if raw is None:
        return _reply("rcpt", code, text)
    code, text = smtp.data(raw)
    return _reply("data", code, text)


def send(
    gateway: Gateway,
    sender: str,
    recipients: Sequence[str],
    raw: bytes | None = None,
    *,
    source_ip: str = CLEAN_IP,
    relay: bool = False,
    helo: str = "client.sender.test",
    mail_options: Sequence[str] = (),
) -> Reply:
    with session(gateway, source_ip, relay, helo) as smtp:
        return transact(smtp, sender, recipients, raw, mail_options)


def message(size: int = 0, subject: str = "stage 1") -> bytes:
    """A message of at least ``size`` bytes (CRLF line endings throughout)."""
    head = (
        f"From: Alice <{SENDER}>\r\nTo: someone@example.com\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@sender.test>\r\n\r\nHello.\r\n"
    ).encode()
    line = b"x" * 76 + b"\r\n"
    return head + line * max(0, -(-(size - len(head)) // len(line)))


def assert_reply(reply: Reply, stage: str, code: int, enhanced: str) -> None:
    assert (reply.stage, reply.code, reply.enhanced) == (stage, code, enhanced), reply.text


def queued_uuid(reply: Reply) -> str:
    assert reply.code == 250, reply.text
    return reply.text.split("queued as ", 1)[1].split()[0]


# -- tenants, rows, S3 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    """The mail server of every tenant here: messages a test lets through are delivered to it,
    also after the test ends (a per-test server would leave them to retry for the session)."""
    mail_server = ScriptedServer().start()
    yield mail_server
    mail_server.stop()


@dataclass(frozen=True)
class Tenant:
    id: str
    domain: str
    api: ApiClient

    def address(self, local: str = "user") -> str:
        return f"{local}@{self.domain}"


def new_tenant(
    gateway: Gateway,
    server: ScriptedServer,
    slug: str,
    *,
    domain: str | None = None,
    domain_settings: dict[str, Any] | None = None,
    **sections: Any,
) -> Tenant:
    """A fresh tenant whose one domain is served by ``server``, configured before any mail:
    ``domain_settings`` update its DomainConfig, ``sections`` the TenantConfig's sections."""
    tenant_id = f"s1-{slug}-{uuid.uuid4().hex[:6]}"
    name = domain or f"{tenant_id}.test"
    api = gateway.add_tenant(tenant_id, name, server)
    store = TenantConfigStore(resources.TENANTS.local_name)
    config, version = store.get(tenant_id)
    managed = DomainConfig.model_validate(config.domains[0].model_dump() | (domain_settings or {}))
    updated = TenantConfig.model_validate(
        config.model_dump() | {"domains": [managed.model_dump()]} | sections
    )
    store.put(tenant_id, updated, expected_version=version)
    return Tenant(tenant_id, name, api)


def relay_tenant(gateway: Gateway, server: ScriptedServer, slug: str, **sections: Any) -> Tenant:
    """A tenant with outbound protection for a domain that resolves, sending from loopback."""
    return new_tenant(
        gateway,
        server,
        slug,
        domain=STAGE1_RELAY_DOMAINS[slug],
        domain_settings={"outbound": {"enabled": True, "sending_servers": ["127.0.0.0/8"]}},
        **sections,
    )


def stored_keys(tenant_id: str) -> list[str]:
    """The raw messages S3 holds for the tenant."""
    listing = aws.client("s3").list_objects_v2(
        Bucket=resources.MAIL.local_name, Prefix=f"{tenant_id}/mail/"
    )
    return sorted(item["Key"] for item in listing.get("Contents", []))


def blocked_rows(api: ApiClient, direction: Direction = INBOUND, **filters: Any) -> Any:
    status, page = api.search(
        period="1h", type="blocked", direction=str(direction), limit=100, **filters
    )
    assert status == 200, page
    return page["items"]


def assert_blocked(
    tenant: Tenant,
    reason: BlockReason,
    reply: Reply,
    *,
    sender: str,
    recipient: str,
    sender_ip: str = CLEAN_IP,
    direction: Direction = INBOUND,
    stored: Sequence[str] = (),
) -> dict[str, Any]:
    """The refusal's one blocked row, found with the reason's search filters, and what S3
    holds for the tenant: ``stored`` (the keys of messages accepted before), nothing else."""
    filters: dict[str, Any] = {"block_reasons": [str(reason)], "sender_ip": sender_ip}
    if recipient:
        filters["recipients"] = [recipient]
    else:
        filters["senders"] = [sender]
    items = blocked_rows(tenant.api, direction, **filters)
    assert len(items) == 1, items
    row: dict[str, Any] = items[0]
    expected = {
        "type": "blocked",
        "direction": str(direction),
        "block_reason": str(reason),
        "reason": BLOCK_REASONS[reason].label.en,
        "sender": sender or "<>",
        "recipient": recipient,
        "sender_ip": sender_ip,
        "smtp_reply": reply.text,
    }
    assert {name: row.get(name) for name in expected} == expected
    assert row["message_uuid"]
    assert stored_keys(tenant.id) == sorted(stored)
    return row


# -- sender IP: reputation lists, tenant and system block lists -------------------------------


@pytest.mark.parametrize("name", ["qil", "kssl", "dul", "etl"])
def test_sender_ip_in_reputation_list_is_refused_at_rcpt(
    gateway: Gateway, server: ScriptedServer, name: str
) -> None:
    tenant = new_tenant(gateway, server, f"rbl-{name}")
    reason = BlockReason(f"sender_ip_{name}")
    ip = LISTED_IPS[name]

    reply = send(gateway, SENDER, [tenant.address()], message(), source_ip=ip)

    assert_reply(reply, "rcpt", 554, "5.7.1")
    assert name.upper() in reply.text
    assert_blocked(tenant, reason, reply, sender=SENDER, recipient=tenant.address(), sender_ip=ip)


@pytest.mark.parametrize(
    "ip_reputation",
    [
        pytest.param({"approved_ips": ["127.0.1.0/24"]}, id="approved-ip"),
        pytest.param({"lists": {"qil": False}}, id="list-turned-off"),
    ],
)
def test_listed_sender_ip_passes_when_the_tenant_says_so(
    gateway: Gateway, server: ScriptedServer, ip_reputation: dict[str, Any]
) -> None:
    tenant = new_tenant(gateway, server, "rbl-pass", ip_reputation=ip_reputation)

    reply = send(gateway, SENDER, [tenant.address()], source_ip=LISTED_IPS["qil"])

    assert reply.code == 250, reply.text
    assert blocked_rows(tenant.api) == []


def test_sender_ip_in_tenant_blocked_ips_is_refused(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(
        gateway, server, "blocked-ip", ip_reputation={"blocked_ips": ["127.0.3.0/24"]}
    )

    reply = send(gateway, SENDER, [tenant.address()], message(), source_ip="127.0.3.9")

    assert_reply(reply, "rcpt", 554, "5.7.1")
    assert_blocked(
        tenant,
        R.SENDER_IP_BLOCKLIST,
        reply,
        sender=SENDER,
        recipient=tenant.address(),
        sender_ip="127.0.3.9",
    )
    # An address outside the blocked range is not refused
    assert send(gateway, SENDER, [tenant.address("other")]).code == 250


def test_sender_ip_in_tenant_blocked_country_is_refused(
    gateway: Gateway, server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Loopback addresses have no country in the packaged data: the gateway runs in this
    # process, so its IP-to-country look-up is given one for a single address.
    from_north_korea = "127.0.4.1"
    monkeypatch.setattr(
        "mailgate.countries.country_of",
        lambda ip, data_file=None: "KP" if ip == from_north_korea else None,
    )
    tenant = new_tenant(
        gateway, server, "blocked-country", ip_reputation={"blocked_countries": ["kp"]}
    )

    reply = send(gateway, SENDER, [tenant.address()], message(), source_ip=from_north_korea)

    assert_reply(reply, "rcpt", 554, "5.7.1")
    assert_blocked(
        tenant,
        R.SENDER_IP_BLOCKLIST,
        reply,
        sender=SENDER,
        recipient=tenant.address(),
        sender_ip=from_north_korea,
    )
    assert send(gateway, SENDER, [tenant.address("other")], source_ip=CLEAN_IP).code == 250


def test_sender_ip_in_system_block_list_is_refused(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(gateway, server, "system-ip")

    # The null sender (a bounce) is refused like any other, and shown as "<>"
    reply = send(gateway, "", [tenant.address()], message(), source_ip=SYSTEM_BLOCKED_IP)

    assert_reply(reply, "rcpt", 554, "5.7.1")
    assert_blocked(
        tenant,
        R.SENDER_IP_BLOCKED,
        reply,
        sender="",
        recipient=tenant.address(),
        sender_ip=SYSTEM_BLOCKED_IP,
    )


def test_relay_from_unregistered_sending_server_is_refused_at_mail(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(
        gateway,
        server,
        "not-allowed",
        domain_settings={"outbound": {"enabled": True, "sending_servers": ["192.0.2.0/24"]}},
    )
    sender = tenant.address("alice")

    reply = send(gateway, sender, ["bob@recipient.test"], message(), relay=True)

    assert_reply(reply, "mail", 554, "5.7.1")
    assert_blocked(
        tenant, R.SENDER_IP_NOT_ALLOWED, reply, sender=sender, recipient="", direction=OUTBOUND
    )


# -- reverse DNS and TLS ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ip", "forward_confirmed", "refused"),
    [
        pytest.param(NO_PTR_IP, False, True, id="no-ptr"),
        pytest.param(UNCONFIRMED_PTR_IP, True, True, id="ptr-not-forward-confirmed"),
        pytest.param(UNCONFIRMED_PTR_IP, False, False, id="any-ptr-is-enough-without-fcrdns"),
        pytest.param(CLEAN_IP, True, False, id="forward-confirmed-ptr-passes"),
    ],
)
def test_reverse_dns_validation(
    gateway: Gateway, server: ScriptedServer, ip: str, forward_confirmed: bool, refused: bool
) -> None:
    tenant = new_tenant(
        gateway,
        server,
        "rdns",
        reverse_dns={"enabled": True, "forward_confirmed": forward_confirmed},
    )

    reply = send(gateway, SENDER, [tenant.address()], source_ip=ip)

    if refused:
        assert_reply(reply, "rcpt", 550, "5.7.25")
        assert_blocked(
            tenant,
            R.REVERSE_DNS_FAILED,
            reply,
            sender=SENDER,
            recipient=tenant.address(),
            sender_ip=ip,
        )
    else:
        assert reply.code == 250, reply.text
        assert blocked_rows(tenant.api) == []


@pytest.mark.parametrize(
    ("peer_setting", "source_ip", "helo"),
    [
        pytest.param("127.0.5.0/24", "127.0.5.1", "client.sender.test", id="peer-by-cidr"),
        pytest.param("tls-helo.test", CLEAN_IP, "mx.tls-helo.test", id="peer-by-helo-domain"),
    ],
)
def test_tls_peer_without_starttls_is_refused(
    gateway: Gateway, server: ScriptedServer, peer_setting: str, source_ip: str, helo: str
) -> None:
    tenant = new_tenant(gateway, server, "tls", tls_peers=[{"peer": peer_setting}])

    reply = send(gateway, SENDER, [tenant.address()], message(), source_ip=source_ip, helo=helo)

    assert_reply(reply, "rcpt", 530, "5.7.0")
    assert_blocked(
        tenant,
        R.TLS_NOT_AVAILABLE,
        reply,
        sender=SENDER,
        recipient=tenant.address(),
        sender_ip=source_ip,
    )


def _client_tls(maximum: ssl.TLSVersion = ssl.TLSVersion.MAXIMUM_SUPPORTED) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False  # the local gateway's certificate is self-signed
    context.verify_mode = ssl.CERT_NONE
    context.maximum_version = maximum
    return context


def test_tls_peer_below_minimum_version_is_refused(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(
        gateway, server, "tls-min", tls_peers=[{"peer": "127.0.5.0/24", "min_version": "TLSv1.3"}]
    )

    with session(gateway, "127.0.5.2", tls=_client_tls(ssl.TLSVersion.TLSv1_2)) as smtp:
        reply = transact(smtp, SENDER, [tenant.address()], message())

    assert_reply(reply, "rcpt", 530, "5.7.0")
    assert "TLSv1.2" in reply.text
    row = assert_blocked(
        tenant,
        R.TLS_NOT_AVAILABLE,
        reply,
        sender=SENDER,
        recipient=tenant.address(),
        sender_ip="127.0.5.2",
    )
    assert row["upstream_tls"] == "TLSv1.2"


def test_tls_peer_with_starttls_is_accepted_and_shows_the_tls_version(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(gateway, server, "tls-ok", tls_peers=[{"peer": "127.0.5.0/24"}])

    with session(gateway, "127.0.5.3", tls=_client_tls()) as smtp:
        reply = transact(smtp, SENDER, [tenant.address()], message())

    message_uuid = queued_uuid(reply)
    status, page = tenant.api.search(
        period="1h", type="accepted", upstream_tls="TLSv1.3", recipients=[tenant.address()]
    )
    assert status == 200, page
    assert [
        (item["message_uuid"], item["upstream_tls"], item["sender_ip"]) for item in page["items"]
    ] == [(message_uuid, "TLSv1.3", "127.0.5.3")]
    assert blocked_rows(tenant.api) == []


# -- sender and recipient -----------------------------------------------------------------------


def test_blocked_sender_is_refused(gateway: Gateway, server: ScriptedServer) -> None:
    tenant = new_tenant(
        gateway, server, "sender", sender_filter={"blocked_senders": ["*@spam.sender.test"]}
    )
    sender = "Mallory@Spam.Sender.Test"  # patterns match case-insensitively

    reply = send(gateway, sender, [tenant.address()], message())

    assert_reply(reply, "rcpt", 550, "5.7.1")
    assert_blocked(tenant, R.SENDER_BLOCKED, reply, sender=sender, recipient=tenant.address())
    assert send(gateway, SENDER, [tenant.address("other")]).code == 250


def test_recipient_not_in_valid_recipients_is_refused(
    gateway: Gateway, server: ScriptedServer
) -> None:
    domain = f"s1-valid-{uuid.uuid4().hex[:6]}.test"
    tenant = new_tenant(
        gateway,
        server,
        "rcpt-invalid",
        domain=domain,
        domain_settings={"valid_recipients": [f"sales-*@{domain}", f"boss@{domain}"]},
    )
    nobody = tenant.address("nobody")

    reply = send(gateway, SENDER, [nobody], message())

    assert_reply(reply, "rcpt", 550, "5.1.1")
    assert_blocked(tenant, R.RECIPIENT_INVALID, reply, sender=SENDER, recipient=nobody)
    # Listed addresses and wildcard matches pass, whatever their case
    for valid in (tenant.address("sales-emea"), tenant.address("BOSS")):
        assert send(gateway, SENDER, [valid]).code == 250, valid


@pytest.mark.parametrize("relay", [False, True], ids=["inbound", "relay"])
def test_recipient_in_system_block_list_is_refused(
    gateway: Gateway, server: ScriptedServer, relay: bool
) -> None:
    # The system list ("blocked-*@example.com") covers the demo tenant's domain: inbound, the
    # refusal is the demo tenant's; on the relay, the sending tenant's.
    recipient = f"blocked-{uuid.uuid4().hex[:8]}@example.com"
    if relay:
        tenant = relay_tenant(gateway, server, "recipient_blocked")
        sender = tenant.address("alice")
    else:
        tenant, sender = Tenant("demo", "example.com", gateway.api), SENDER
    before = stored_keys(tenant.id)

    reply = send(gateway, sender, [recipient], message(), relay=relay)

    assert_reply(reply, "rcpt", 550, "5.7.1")
    assert_blocked(
        tenant,
        R.RECIPIENT_BLOCKED,
        reply,
        sender=sender,
        recipient=recipient,
        direction=OUTBOUND if relay else INBOUND,
        stored=before,
    )


@pytest.mark.parametrize("relay", [False, True], ids=["inbound", "relay"])
def test_sender_domain_not_found(gateway: Gateway, server: ScriptedServer, relay: bool) -> None:
    if relay:  # the relay checks its tenant's own domain, which has no DNS records here
        tenant = new_tenant(
            gateway,
            server,
            "sender-nf",
            domain_settings={"outbound": {"enabled": True, "sending_servers": ["127.0.0.0/8"]}},
        )
        sender, recipient, stage = tenant.address("alice"), "bob@recipient.test", "mail"
    else:
        tenant = new_tenant(gateway, server, "sender-nf")
        sender, recipient, stage = "alice@no-such-domain.test", tenant.address(), "rcpt"

    reply = send(gateway, sender, [recipient], message(), relay=relay)

    assert_reply(reply, stage, 550, "5.1.8")
    assert_blocked(
        tenant,
        R.SENDER_DOMAIN_NOT_FOUND,
        reply,
        sender=sender,
        recipient="" if relay else recipient,
        direction=OUTBOUND if relay else INBOUND,
    )


@pytest.mark.parametrize(
    "domain",
    [
        pytest.param("nullmx.test", id="null-mx"),
        pytest.param("iplit.test", id="mx-is-an-ip-literal"),
        pytest.param("noaddr.test", id="mx-host-has-no-address"),
    ],
)
def test_sender_domain_malformed(gateway: Gateway, server: ScriptedServer, domain: str) -> None:
    tenant = new_tenant(gateway, server, "sender-mf")
    sender = f"alice@{domain}"

    reply = send(gateway, sender, [tenant.address()], message())

    assert_reply(reply, "rcpt", 550, "5.1.8")
    assert_blocked(
        tenant, R.SENDER_DOMAIN_MALFORMED, reply, sender=sender, recipient=tenant.address()
    )


def test_recipient_domain_not_found_on_relay(gateway: Gateway, server: ScriptedServer) -> None:
    tenant = relay_tenant(gateway, server, "recipient_domain_not_found")
    sender, recipient = tenant.address("alice"), "bob@no-such-domain.test"

    reply = send(gateway, sender, [recipient], message(), relay=True)

    assert_reply(reply, "rcpt", 550, "5.1.2")
    assert_blocked(
        tenant,
        R.RECIPIENT_DOMAIN_NOT_FOUND,
        reply,
        sender=sender,
        recipient=recipient,
        direction=OUTBOUND,
    )


def test_recipient_domain_malformed_on_relay(gateway: Gateway, server: ScriptedServer) -> None:
    tenant = relay_tenant(gateway, server, "recipient_domain_malformed")
    sender, recipient = tenant.address("alice"), "bob@nullmx.test"

    reply = send(gateway, sender, [recipient], message(), relay=True)

    assert_reply(reply, "rcpt", 556, "5.1.10")
    assert_blocked(
        tenant,
        R.RECIPIENT_DOMAIN_MALFORMED,
        reply,
        sender=sender,
        recipient=recipient,
        direction=OUTBOUND,
    )


# -- size and rate limits -----------------------------------------------------------------------

MAX_BYTES = 2048


@pytest.mark.parametrize("relay", [False, True], ids=["inbound-at-rcpt", "relay-at-mail"])
def test_declared_size_over_the_limit_is_refused_before_data(
    gateway: Gateway, server: ScriptedServer, relay: bool
) -> None:
    limits = {"max_message_bytes": MAX_BYTES}
    if relay:
        tenant = relay_tenant(gateway, server, "message_too_big", limits=limits)
        sender, recipient = tenant.address("alice"), "bob@recipient.test"
    else:
        tenant = new_tenant(gateway, server, "declared-size", limits=limits)
        sender, recipient = SENDER, tenant.address()

    reply = send(gateway, sender, [recipient], relay=relay, mail_options=["SIZE=10000"])

    assert_reply(reply, "mail" if relay else "rcpt", 552, "5.3.4")
    assert_blocked(
        tenant,
        R.MESSAGE_TOO_BIG,
        reply,
        sender=sender,
        recipient="" if relay else recipient,
        direction=OUTBOUND if relay else INBOUND,
    )


def test_message_over_the_limit_is_refused_at_end_of_data(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(gateway, server, "data-size", limits={"max_message_bytes": MAX_BYTES})

    reply = send(gateway, SENDER, [tenant.address()], message(2 * MAX_BYTES))

    assert_reply(reply, "data", 552, "5.3.4")
    assert_blocked(tenant, R.MESSAGE_TOO_BIG, reply, sender=SENDER, recipient=tenant.address())
    # A message within the limit passes
    assert send(gateway, SENDER, [tenant.address("other")], message(MAX_BYTES // 2)).code == 250


@pytest.mark.parametrize("declared", [True, False], ids=["declared-size", "data"])
def test_message_over_the_default_limit_is_logged_as_message_too_big(
    gateway: Gateway, server: ScriptedServer, declared: bool
) -> None:
    tenant = new_tenant(gateway, server, "default-size")
    limit = TenantConfig().limits.max_message_bytes
    if declared:
        reply = send(gateway, SENDER, [tenant.address()], mail_options=[f"SIZE={limit + 1}"])
    else:
        reply = send(gateway, SENDER, [tenant.address()], message(limit + 1))

    assert_reply(reply, "rcpt" if declared else "data", 552, "5.3.4")
    assert_blocked(tenant, R.MESSAGE_TOO_BIG, reply, sender=SENDER, recipient=tenant.address())


@dataclass(frozen=True)
class RateCase:
    """Two messages, each within the limit on its own, over it together; they share only the
    limit's subject (client IP, sender address or sender domain)."""

    limit: str  # the RateLimits field
    reason: BlockReason
    amount: int  # the limit: messages, or bytes
    stage: str
    code: int

    @property
    def subject(self) -> str:
        return self.limit.partition("_")[2]

    @property
    def first(self) -> tuple[str, str]:
        return "a@sender.test", "127.0.7.1"

    @property
    def second(self) -> tuple[str, str]:
        """(sender, client IP)"""
        sender = "a@sender.test" if self.subject == "address" else "b@sender.test"
        return sender, "127.0.7.1" if self.subject == "ip" else "127.0.7.2"


RATE_CASES = [
    RateCase("count_ip", R.RATE_LIMIT_COUNT_IP, 1, "rcpt", 450),
    RateCase("count_address", R.RATE_LIMIT_COUNT_ADDRESS, 1, "rcpt", 450),
    RateCase("size_ip", R.RATE_LIMIT_SIZE_IP, 1500, "data", 451),
    RateCase("size_address", R.RATE_LIMIT_SIZE_ADDRESS, 1500, "data", 451),
    RateCase("size_domain", R.RATE_LIMIT_SIZE_DOMAIN, 1500, "data", 451),
]


@pytest.mark.parametrize("case", RATE_CASES, ids=[case.limit for case in RATE_CASES])
def test_inbound_rate_limit(gateway: Gateway, server: ScriptedServer, case: RateCase) -> None:
    tenant = new_tenant(
        gateway,
        server,
        f"rate-{case.limit.replace('_', '-')}",
        limits={"inbound": {case.limit: {"limit": case.amount, "window_s": WINDOW_S}}},
    )
    (first_sender, first_ip), (second_sender, second_ip) = case.first, case.second
    first = send(gateway, first_sender, [tenant.address("one")], message(1000), source_ip=first_ip)
    accepted = queued_uuid(first)
    (kept,) = stored_keys(tenant.id)
    assert kept.endswith(f"/{accepted}.eml")

    reply = send(
        gateway, second_sender, [tenant.address("two")], message(1000), source_ip=second_ip
    )

    assert_reply(reply, case.stage, case.code, "4.7.1")
    assert_blocked(
        tenant,
        case.reason,
        reply,
        sender=second_sender,
        recipient=tenant.address("two"),
        sender_ip=second_ip,
        stored=[kept],
    )


def test_refused_message_is_not_counted_against_the_other_limits(
    gateway: Gateway, server: ScriptedServer
) -> None:
    # i-1 allows two messages, i-3 1500 bytes: the second message passes i-1 but not i-3,
    # and a refused message must not use up the allowance of i-1.
    tenant = new_tenant(
        gateway,
        server,
        "rate-atomic",
        limits={
            "inbound": {
                "count_ip": {"limit": 2, "window_s": WINDOW_S},
                "size_ip": {"limit": 1500, "window_s": WINDOW_S},
            }
        },
    )
    first = queued_uuid(send(gateway, SENDER, [tenant.address("one")], message(1000)))
    (kept,) = stored_keys(tenant.id)
    assert kept.endswith(f"/{first}.eml")

    refused = send(gateway, SENDER, [tenant.address("two")], message(1000))

    assert_reply(refused, "data", 451, "4.7.1")
    assert_blocked(
        tenant,
        R.RATE_LIMIT_SIZE_IP,
        refused,
        sender=SENDER,
        recipient=tenant.address("two"),
        stored=[kept],
    )
    # The refused message was not counted: a third, small one still fits both limits
    third = send(gateway, SENDER, [tenant.address("three")], message(200))
    assert third.code == 250, third.text


def test_message_refused_for_another_tenant_is_not_counted(
    gateway: Gateway, server: ScriptedServer
) -> None:
    window = {"window_s": WINDOW_S}
    counted = new_tenant(
        gateway, server, "rate-first", limits={"inbound": {"count_ip": {"limit": 2, **window}}}
    )
    refusing = new_tenant(
        gateway, server, "rate-second", limits={"inbound": {"size_ip": {"limit": 500, **window}}}
    )
    both = [counted.address("one"), refusing.address("one")]

    shared = send(gateway, SENDER, both, message(1000))

    assert_reply(shared, "data", 451, "4.7.1")
    # Nothing was accepted, so the first tenant still takes two messages from this address
    for n in (2, 3):
        reply = send(gateway, SENDER, [counted.address(f"n{n}")], message(200))
        assert reply.code == 250, reply.text


def test_outbound_rate_limit(gateway: Gateway, server: ScriptedServer) -> None:
    # o-3: one message larger than the whole allowance of its client address
    tenant = relay_tenant(
        gateway,
        server,
        "rate_limit",
        limits={"outbound": {"size_ip": {"limit": 500, "window_s": WINDOW_S}}},
    )
    sender, recipient = tenant.address("alice"), "bob@recipient.test"

    reply = send(gateway, sender, [recipient], message(1000), relay=True)

    assert_reply(reply, "data", 451, "4.7.1")
    assert_blocked(
        tenant,
        R.RATE_LIMIT_SIZE_IP,
        reply,
        sender=sender,
        recipient=recipient,
        direction=OUTBOUND,
    )


# -- policy errors, "other" and DNS failures ---------------------------------------------------


def _overwrite_config(tenant_id: str, text: str) -> None:
    """Replace the stored configuration behind the store's back (its validation included)."""
    aws.table(resources.TENANTS.local_name).update_item(
        Key={"pk": f"TENANT#{tenant_id}", "sk": CONFIG},
        UpdateExpression="SET #config = :config",
        ExpressionAttributeNames={"#config": "config"},
        ExpressionAttributeValues={":config": text},
    )


UNREADABLE = '{"domains": [{"name": '
WITHOUT_DOMAINS = TenantConfig().model_dump_json()


@pytest.mark.parametrize(
    ("stored_config", "relay"),
    [
        pytest.param(UNREADABLE, False, id="unreadable"),
        pytest.param(WITHOUT_DOMAINS, False, id="domain-missing-from-config"),
        pytest.param(UNREADABLE, True, id="unreadable-on-relay"),
    ],
)
def test_policy_matching_error_is_temporary(
    gateway: Gateway, server: ScriptedServer, stored_config: str, relay: bool
) -> None:
    tenant = new_tenant(gateway, server, "policy-error")
    _overwrite_config(tenant.id, stored_config)
    if relay:  # the sender's domain decides the tenant, at MAIL
        sender, recipient = tenant.address("alice"), "bob@recipient.test"
    else:
        sender, recipient = SENDER, tenant.address()

    reply = send(gateway, sender, [recipient], message(), relay=relay)

    assert_reply(reply, "mail" if relay else "rcpt", 451, "4.3.0")
    assert_blocked(
        tenant,
        R.POLICY_MATCHING_ERROR,
        reply,
        sender=sender,
        recipient="" if relay else recipient,
        direction=OUTBOUND if relay else INBOUND,
    )


def test_relay_for_a_domain_without_outbound_protection_is_other(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(gateway, server, "no-outbound")  # outbound is off by default
    sender = tenant.address("alice")

    reply = send(gateway, sender, ["bob@recipient.test"], message(), relay=True)

    assert_reply(reply, "mail", 550, "5.7.1")
    assert_blocked(tenant, R.OTHER, reply, sender=sender, recipient="", direction=OUTBOUND)


@pytest.mark.parametrize(
    "line_ending", [pytest.param(b"\n", id="bare-lf"), pytest.param(b"\r", id="bare-cr")]
)
def test_bare_line_ending_in_data_is_other(
    gateway: Gateway, server: ScriptedServer, line_ending: bytes
) -> None:
    tenant = new_tenant(gateway, server, "bare-eol")
    raw = b"Subject: smuggled\r\n\r\nfirst line" + line_ending + b"second line\r\n"

    with session(gateway) as smtp:
        assert transact(smtp, SENDER, [tenant.address()]).code == 250
        # smtplib's data() would turn the bare line ending into CRLF: write the bytes ourselves
        code, _ = smtp.docmd("DATA")
        assert code == 354
        smtp.send(raw + b".\r\n")
        code, text = smtp.getreply()
    reply = _reply("data", code, text)

    assert_reply(reply, "data", 550, "5.6.0")
    assert_blocked(tenant, R.OTHER, reply, sender=SENDER, recipient=tenant.address())


def test_dns_timeout_for_the_sender_domain_is_temporary(
    gateway: Gateway, server: ScriptedServer
) -> None:
    tenant = new_tenant(gateway, server, "dns-timeout")
    sender = "alice@slow.test"  # its name server never answers

    reply = send(gateway, sender, [tenant.address()], message())

    assert_reply(reply, "rcpt", 451, "4.4.3")
    assert_blocked(tenant, R.OTHER, reply, sender=sender, recipient=tenant.address())
