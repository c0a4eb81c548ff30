"""DANE and MTA-STS of stage 3 against real loopback servers: a DNS server serving zones signed
in the test (validated from a test trust anchor), SMTP servers with their certificates, and an
HTTPS server publishing an MTA-STS policy. The stage's stores are in memory."""

from __future__ import annotations

import hashlib
import http.server
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import dns.rdataset
import dns.resolver
import dns.zone
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from functions.deliver import routing, smtp_client
from functions.deliver.authentication import Authenticator
from functions.deliver.dane import DaneLookup
from functions.deliver.dnssec import TrustAnchor, Validator
from functions.deliver.mta_sts import PolicySource
from functions.deliver.stage import DeliverStage
from mailgate import dns as mdns
from mailgate.catalog import Direction, Status
from mailgate.clock import utcnow
from mailgate.jobs import DeliverJob
from mailgate.origination import Originator
from mailgate.records import TimelineEvent, TrackingRow
from tests.support.certificates import LocalCa
from tests.support.fakes import FakeConfigs, FakeDomains, FakeMail, FakeQueue, FakeTracking
from tests.support.ports import free_port
from tests.support.signed_dns import SignedDns, sign, zone
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

TENANT, UUID, KEY = "t", "0b6f0c8e-0000-4000-8000-00000000000a", "t/mail/m.eml"
RAW = (
    b"From: a@sender.test\r\nTo: user@x.test\r\nDate: Mon, 30 Nov 2026 10:00:00 +0000\r\n"
    b"Message-ID: <m@sender.test>\r\nSubject: hello\r\n\r\nBody.\r\n"
)


def spki_sha256(certificate: x509.Certificate) -> str:
    spki = certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(spki).hexdigest()


class PolicyServer:
    """HTTPS on loopback answering ``/.well-known/mta-sts.txt`` with ``body`` (404 if None)."""

    def __init__(self, context: ssl.SSLContext) -> None:
        self.body: str | None = None
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(f"{self.headers['Host']}{self.path}")
                body = outer.body
                if body is None or self.path != "/.well-known/mta-sts.txt":
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(body.encode())

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Net:
    ca: LocalCa
    port: int = field(default_factory=free_port)  # every MX host listens here
    records: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    children: list[tuple[dns.zone.Zone, str]] = field(default_factory=list)  # zone, DS or ""


@pytest.fixture
def net(tmp_path: Path) -> Net:
    return Net(LocalCa(tmp_path))


@pytest.fixture
def policies(net: Net) -> Iterator[PolicyServer]:
    _certificate, context = net.ca.issue("mta-sts.sts.test")
    server = PolicyServer(context)
    yield server
    server.stop()


@pytest.fixture
def peer() -> Iterator[list[ScriptedServer]]:
    started: list[ScriptedServer] = []
    yield started
    for server in started:
        server.stop()


def start_peer(
    started: list[ScriptedServer], net: Net, context: ssl.SSLContext | None
) -> ScriptedServer:
    server = ScriptedServer(port=net.port, tls_context=context).start()
    started.append(server)
    return server


@dataclass
class Run:
    tracking: FakeTracking
    dns: SignedDns

    def row(self, recipient: str) -> TrackingRow:
        return self.tracking.rows[TENANT, UUID, recipient]

    def attempts(self) -> list[TimelineEvent]:
        return [e for e in self.tracking.events.get((TENANT, UUID), []) if e.stage == "deliver"]


def deliver(net: Net, recipient: str, policy_port: int = 0, runs: int = 1) -> Run:
    top = zone("test.", net.records)
    for child, ds in net.children:
        top.replace_rdataset(child.origin, _rdataset("NS", f"ns.{child.origin}"))
        if ds:
            top.replace_rdataset(child.origin, _rdataset("DS", ds))
    anchor = TrustAnchor.parse(f"test. {sign(top)}")
    server = SignedDns([top, *(child for child, _ in net.children)]).start()
    try:
        tracking = FakeTracking()
        res = mdns.resolver([server.address], timeout=2)
        authenticate = Authenticator(
            DaneLookup(Validator(mdns.resolver([server.address], timeout=2), anchor)),
            PolicySource(res, port=policy_port, ca_bundle=str(net.ca.bundle), timeout=5),
        )
        for _ in range(runs):
            _run(tracking, res, authenticate, net, recipient)
        return Run(tracking, server)
    finally:
        server.stop()


def _rdataset(rdtype: str, text: str) -> dns.rdataset.Rdataset:
    return dns.rdataset.from_text("IN", rdtype, 60, text)


def _run(
    tracking: FakeTracking,
    res: dns.resolver.Resolver,
    authenticate: Authenticator,
    net: Net,
    recipient: str,
) -> None:
    tracking.rows.pop((TENANT, UUID, recipient), None)
    tracking.events.pop((TENANT, UUID), None)
    tracking.add([_row(recipient)], [])
    mail, queue, domains = FakeMail({KEY: RAW}), FakeQueue(), FakeDomains()
    stage = DeliverStage(
        tracking=tracking,
        tenants=domains,
        configs=FakeConfigs(),
        mail=mail,
        queue=queue,
        send=partial(smtp_client.deliver, helo="gateway.test", timeout=5),
        lookup_mx=partial(routing.mx_servers, res=res, port=net.port),
        retry_schedule_s=[60],
        queue_lifetime_s=3600,
        hostname="gateway.test",
        claim_s=120,
        originator=Originator(mail, tracking, queue, domains),
        authenticate=authenticate,
    )
    stage.run(
        DeliverJob(
            tenant_id=TENANT,
            message_uuid=UUID,
            direction=Direction.OUTBOUND,
            mail_key=KEY,
            sender="",
            recipients=[recipient],
            received_at=utcnow(),
            sender_ip="127.0.0.1",
        )
    )


def _row(recipient: str) -> TrackingRow:
    return TrackingRow(
        tenant_id=TENANT,
        message_uuid=UUID,
        recipient=recipient,
        time=utcnow(),
        direction=Direction.OUTBOUND,
        sender="",
        sender_ip="127.0.0.1",
    )


def dane_zone(net: Net, name: str, tlsa: str) -> dns.zone.Zone:
    return zone(
        f"{name}.",
        {
            ("@", "MX"): [f"10 mx.{name}."],
            ("mx", "A"): ["127.0.0.1"],
            (f"_{net.port}._tcp.mx", "TLSA"): [tlsa],
        },
    )


# DANE


def test_a_certificate_matching_the_signed_tlsa_record_is_delivered_with_dane(
    net: Net, peer: list[ScriptedServer]
) -> None:
    # Given a signed zone whose MX host publishes TLSA 3 1 1 of its server's key
    certificate, context = net.ca.issue("mx.dane.test")
    server = start_peer(peer, net, context)
    signed = dane_zone(net, "dane.test", f"3 1 1 {spki_sha256(certificate)}")
    net.children.append((signed, sign(signed)))

    # When a message goes to a user of that domain
    run = deliver(net, "user@dane.test")

    # Then it is delivered over TLS, and the row and the attempt say DANE
    assert len(server.received) == 1
    row = run.row("user@dane.test")
    assert row.status is Status.DELIVERED
    assert (row.downstream_dane, row.downstream_tls[:4]) == ("yes", "TLSv")
    [attempt] = run.attempts()
    assert attempt.dane == "yes"
    assert "DANE: certificate matches TLSA 3 1 1" in attempt.detail


def test_a_dane_ta_record_matches_the_issuing_ca(net: Net, peer: list[ScriptedServer]) -> None:
    # Given TLSA 2 0 1: the SHA-256 of the CA certificate the server's chain ends in
    _certificate, context = net.ca.issue("mx.dane.test")
    server = start_peer(peer, net, context)
    digest = hashlib.sha256(net.ca.certificate.public_bytes(Encoding.DER)).hexdigest()
    signed = dane_zone(net, "dane.test", f"2 0 1 {digest}")
    net.children.append((signed, sign(signed)))

    run = deliver(net, "user@dane.test")

    assert len(server.received) == 1
    assert run.row("user@dane.test").downstream_dane == "yes"


def test_a_certificate_that_does_not_match_is_a_temporary_failure(
    net: Net, peer: list[ScriptedServer]
) -> None:
    # Given a server whose key is not the one the signed TLSA record names
    _certificate, context = net.ca.issue("mx.dane.test")
    server = start_peer(peer, net, context)
    signed = dane_zone(net, "dane.test", f"3 1 1 {'ab' * 32}")
    net.children.append((signed, sign(signed)))

    run = deliver(net, "user@dane.test")

    # Then nothing is sent, and the recipient waits with a reply that says why
    assert server.received == []
    row = run.row("user@dane.test")
    assert row.status is Status.TEMPORARY_ERROR
    assert "certificate does not match the DANE TLSA records of mx.dane.test" in (
        row.downstream_reply
    )


def test_dane_never_falls_back_to_plain_text(net: Net, peer: list[ScriptedServer]) -> None:
    # Given a DANE host whose server does not offer STARTTLS
    server = start_peer(peer, net, None)
    signed = dane_zone(net, "dane.test", f"3 1 1 {'ab' * 32}")
    net.children.append((signed, sign(signed)))

    run = deliver(net, "user@dane.test")

    assert server.received == []
    row = run.row("user@dane.test")
    assert row.status is Status.TEMPORARY_ERROR
    assert "does not offer STARTTLS, required by DANE" in row.downstream_reply


def test_tlsa_records_of_an_unsigned_zone_are_ignored(net: Net, peer: list[ScriptedServer]) -> None:
    # Given an unsigned zone (a delegation without DS) with a TLSA record that does not match
    server = start_peer(peer, net, None)
    unsigned = dane_zone(net, "plain.test", f"3 1 1 {'ab' * 32}")
    net.children.append((unsigned, ""))

    run = deliver(net, "user@plain.test")

    # Then delivery is the usual opportunistic one, in plain text here, and not DANE
    assert len(server.received) == 1
    row = run.row("user@plain.test")
    assert (row.status, row.downstream_dane, row.downstream_tls) == (
        Status.DELIVERED,
        "no",
        "none",
    )


def test_a_bogus_signature_is_a_temporary_failure(net: Net, peer: list[ScriptedServer]) -> None:
    # Given a zone signed with a key other than the one its DS names
    server = start_peer(peer, net, None)
    signed = dane_zone(net, "forged.test", f"3 1 1 {'ab' * 32}")
    other = dane_zone(net, "forged.test", f"3 1 1 {'cd' * 32}")
    sign(signed)
    net.children.append((signed, sign(other)))

    run = deliver(net, "user@forged.test")

    assert server.received == []
    row = run.row("user@forged.test")
    assert row.status is Status.TEMPORARY_ERROR
    assert row.downstream_reply.startswith("451 4.7.5 no DNSKEY of forged.test. matches")


# MTA-STS

ENFORCE = "version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n"


def sts_records(net: Net, policy_id: str = "20261130") -> None:
    net.records.update(
        {
            ("sts", "MX"): ["10 mx.sts.test."],
            ("mx.sts", "A"): ["127.0.0.1"],
            ("mta-sts.sts", "A"): ["127.0.0.1"],
            ("_mta-sts.sts", "TXT"): [f'"v=STSv1; id={policy_id}"'],
        }
    )


def test_enforce_with_a_matching_mx_and_valid_certificate_delivers(
    net: Net, peer: list[ScriptedServer], policies: PolicyServer
) -> None:
    _certificate, context = net.ca.issue("mx.sts.test")
    server = start_peer(peer, net, context)
    sts_records(net)
    policies.body = ENFORCE

    run = deliver(net, "user@sts.test", policies.port)

    assert len(server.received) == 1
    row = run.row("user@sts.test")
    assert (row.status, row.downstream_mta_sts, row.downstream_dane) == (
        Status.DELIVERED,
        "yes",
        "no",
    )
    assert policies.requests == ["mta-sts.sts.test/.well-known/mta-sts.txt"]


def test_enforce_with_a_non_matching_mx_is_never_delivered(
    net: Net, peer: list[ScriptedServer], policies: PolicyServer
) -> None:
    _certificate, context = net.ca.issue("mx.sts.test")
    server = start_peer(peer, net, context)
    sts_records(net)
    policies.body = ENFORCE.replace("mx: mx.sts.test", "mx: *.elsewhere.test")

    run = deliver(net, "user@sts.test", policies.port)

    assert server.received == []
    row = run.row("user@sts.test")
    assert row.status is Status.TEMPORARY_ERROR
    assert "MX host mx.sts.test is not in the MTA-STS policy of sts.test" in row.downstream_reply


def test_enforce_refuses_a_certificate_the_ca_did_not_issue(
    net: Net, peer: list[ScriptedServer], policies: PolicyServer, tmp_path: Path
) -> None:
    _certificate, context = LocalCa(tmp_path / "other").issue("mx.sts.test")
    server = start_peer(peer, net, context)
    sts_records(net)
    policies.body = ENFORCE

    run = deliver(net, "user@sts.test", policies.port)

    assert server.received == []
    assert "certificate not valid for mx.sts.test" in run.row("user@sts.test").downstream_reply


def test_testing_mode_delivers_and_records_the_failure(
    net: Net, peer: list[ScriptedServer], policies: PolicyServer, tmp_path: Path
) -> None:
    # Given a testing policy and a server whose certificate it would not accept
    _certificate, context = LocalCa(tmp_path / "other").issue("mx.sts.test")
    server = start_peer(peer, net, context)
    sts_records(net)
    policies.body = ENFORCE.replace("enforce", "testing")

    run = deliver(net, "user@sts.test", policies.port)

    assert len(server.received) == 1
    row = run.row("user@sts.test")
    assert (row.status, row.downstream_mta_sts) == (Status.DELIVERED, "no")
    [attempt] = run.attempts()
    assert "MTA-STS testing: mx.sts.test failed (certificate not valid), delivered anyway" in (
        attempt.detail
    )


def test_a_policy_that_cannot_be_fetched_leaves_delivery_opportunistic(
    net: Net, peer: list[ScriptedServer], policies: PolicyServer
) -> None:
    server = start_peer(peer, net, None)
    sts_records(net)
    policies.body = None  # 404

    run = deliver(net, "user@sts.test", policies.port)

    assert len(server.received) == 1
    assert run.row("user@sts.test").downstream_mta_sts == "no"


def test_a_policy_is_fetched_once_while_its_id_and_max_age_hold(
    net: Net, peer: list[ScriptedServer], policies: PolicyServer
) -> None:
    _certificate, context = net.ca.issue("mx.sts.test")
    server = start_peer(peer, net, context)
    sts_records(net, policy_id="cached1")
    policies.body = ENFORCE

    run = deliver(net, "user@sts.test", policies.port, runs=2)

    assert len(server.received) == 2
    assert len(policies.requests) == 1
    assert run.row("user@sts.test").downstream_mta_sts == "yes"
