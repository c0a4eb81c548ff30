"""The stage-3 SMTP client against real aiosmtpd servers on loopback: one reply per recipient,
servers tried in order until one answers, and the message bytes delivered unchanged."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from functions.deliver.routing import Server
from functions.deliver.smtp_client import NOT_CONNECTED, Attempt, Reply, deliver
from functions.deliver.tls_policy import OPPORTUNISTIC, TlsPolicy
from mailgate.tls import self_signed, server_context
from tests.support.ports import free_port

SENDER = "alice@sender.example"
BOB = "bob@example.com"
CAROL = "carol@example.com"
RAW = (
    b"From: alice@sender.example\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: dots\r\n"
    b"\r\n"
    b"First line.\r\n"
    b".A line starting with a dot\r\n"
    b"..two dots\r\n"
    b".\r\n"
    b"After a lone dot, still the body.\r\n"
)


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    content: bytes


@dataclass
class Peer:
    """A downstream server answering scripted replies; 250 unless told otherwise."""

    rcpt: dict[str, str] = field(default_factory=dict)
    data: str = "250 2.0.0 Queued as 42"
    quit: str = "221 2.0.0 Bye"
    received: list[Received] = field(default_factory=list)
    port: int = 0

    @property
    def server(self) -> Server:
        return Server("mx.example.com", "127.0.0.1", self.port)

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.rcpt.get(address, "250 2.1.5 OK")
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.received.append(
            Received(str(envelope.mail_from), list(envelope.rcpt_tos), bytes(content))
        )
        return self.data

    async def handle_QUIT(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        return self.quit


StartPeer = Callable[..., Peer]


@pytest.fixture
def start_peer() -> Iterator[StartPeer]:
    """Starts a Peer on a free loopback port; every one started is stopped after the test."""
    controllers: list[Controller] = []

    def start(peer: Peer | None = None, **smtp_parameters: Any) -> Peer:
        peer = peer or Peer()
        peer.port = free_port()
        controller = Controller(peer, hostname="127.0.0.1", port=peer.port, **smtp_parameters)
        controller.start()
        controllers.append(controller)
        return peer

    yield start
    for controller in controllers:
        controller.stop()


def closed() -> Server:
    """A loopback port nothing listens on: the connection is refused."""
    return Server("closed.example.com", "127.0.0.1", free_port())


def send(
    servers: list[Server],
    recipients: list[str],
    raw: bytes = RAW,
    policy: TlsPolicy = OPPORTUNISTIC,
) -> Attempt:
    return deliver(servers, SENDER, recipients, raw, policy, helo="gateway.test", timeout=5.0)


REQUIRED = TlsPolicy(required=True, min_version="TLSv1.2", reason="outbound TLS peer example.com")


def test_every_recipient_accepted(start_peer: StartPeer) -> None:
    peer = start_peer()

    attempt = send([peer.server], [BOB, CAROL])

    queued = Reply(250, "2.0.0 Queued as 42")
    assert attempt.replies == {BOB: queued, CAROL: queued}
    assert attempt.peer_ip == "127.0.0.1"
    assert attempt.tls == "none"
    assert attempt.errors == []
    assert [(r.mail_from, r.rcpt_tos) for r in peer.received] == [(SENDER, [BOB, CAROL])]


def test_the_message_arrives_byte_for_byte(start_peer: StartPeer) -> None:
    # Given a message with lines that start with "." (one is a lone "."), which SMTP must
    # dot-stuff on the wire (RFC 5321 4.5.2) or the server would end the message early
    peer = start_peer()

    # When it is delivered
    send([peer.server], [BOB])

    # Then the server has exactly the bytes that were sent
    assert [r.content for r in peer.received] == [RAW]


def test_rejected_and_accepted_recipients_each_get_their_own_reply(
    start_peer: StartPeer,
) -> None:
    # Given a server that does not know carol
    peer = start_peer(Peer(rcpt={CAROL: "550 5.1.1 No such user"}))

    # When both are sent
    attempt = send([peer.server], [BOB, CAROL])

    # Then carol keeps her RCPT refusal and bob gets the DATA reply
    assert attempt.replies[CAROL] == Reply(550, "5.1.1 No such user")
    assert attempt.replies[BOB] == Reply(250, "2.0.0 Queued as 42")
    assert attempt.replies[CAROL].permanent
    assert attempt.replies[BOB].accepted
    assert [r.rcpt_tos for r in peer.received] == [[BOB]]


def test_a_4xx_rcpt_reply_is_temporary(start_peer: StartPeer) -> None:
    peer = start_peer(Peer(rcpt={BOB: "451 4.3.0 Try again later"}))

    attempt = send([peer.server], [BOB])

    reply = attempt.replies[BOB]
    assert reply == Reply(451, "4.3.0 Try again later")
    assert not reply.accepted
    assert not reply.permanent
    assert peer.received == [], "no DATA when no recipient was accepted"


def test_a_5xx_data_reply_is_permanent_for_every_accepted_recipient(
    start_peer: StartPeer,
) -> None:
    # Given a server that accepts bob and carol, then refuses the content
    peer = start_peer(
        Peer(rcpt={"dave@example.com": "550 5.1.1 No such user"}, data="554 5.7.1 Rejected")
    )

    attempt = send([peer.server], [BOB, CAROL, "dave@example.com"])

    # Then the accepted ones get the DATA refusal, the refused one keeps its own reply
    assert attempt.replies[BOB] == Reply(554, "5.7.1 Rejected")
    assert attempt.replies[CAROL] == Reply(554, "5.7.1 Rejected")
    assert attempt.replies["dave@example.com"] == Reply(550, "5.1.1 No such user")
    assert all(reply.permanent for reply in attempt.replies.values())


def test_a_refused_connection_moves_on_to_the_next_server(start_peer: StartPeer) -> None:
    # Given a first server that refuses connections and a second that works
    down = closed()
    peer = start_peer()

    # When delivering to both in order
    attempt = send([down, peer.server], [BOB])

    # Then the message went through the second, and the first failure is noted
    assert attempt.replies == {BOB: Reply(250, "2.0.0 Queued as 42")}
    assert attempt.peer_ip == "127.0.0.1"
    assert len(peer.received) == 1
    assert len(attempt.errors) == 1
    assert f"127.0.0.1:{down.port}" in attempt.errors[0]


def test_the_first_server_that_answers_is_the_only_one_used(start_peer: StartPeer) -> None:
    first, second = start_peer(), start_peer()

    send([first.server, second.server], [BOB])

    assert len(first.received) == 1
    assert second.received == []


def test_with_no_server_listening_every_recipient_is_not_connected() -> None:
    attempt = send([closed(), closed()], [BOB, CAROL])

    assert set(attempt.replies) == {BOB, CAROL}
    for reply in attempt.replies.values():
        assert reply.code == NOT_CONNECTED == 0
        assert reply.text.startswith("could not connect")
        assert not reply.accepted
        assert not reply.permanent
    assert len(attempt.errors) == 2
    assert attempt.peer_ip == ""


def test_with_no_server_at_all_the_reply_says_so() -> None:
    attempt = send([], [BOB])

    assert attempt.replies == {
        BOB: Reply(NOT_CONNECTED, "could not connect: no server to deliver to")
    }
    assert str(attempt.replies[BOB]) == "could not connect: no server to deliver to"


def test_a_refused_sender_is_every_recipients_reply(start_peer: StartPeer) -> None:
    class RefusesSender(Peer):
        async def handle_MAIL(
            self,
            server: SMTP,
            session: Session,
            envelope: Envelope,
            address: str,
            mail_options: list[str],
        ) -> str:
            return "550 5.7.1 Sender blocked"

    peer = start_peer(RefusesSender())

    attempt = send([peer.server], [BOB, CAROL])

    assert attempt.replies == dict.fromkeys([BOB, CAROL], Reply(550, "5.7.1 Sender blocked"))
    assert peer.received == []


@pytest.fixture(scope="module")
def tls_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    """A server context with a throwaway self-signed certificate."""
    return server_context(*self_signed("mx.example.com", tmp_path_factory.mktemp("tls")))


def test_starttls_is_used_when_offered_even_with_an_untrusted_certificate(
    start_peer: StartPeer, tls_context: ssl.SSLContext
) -> None:
    # Given a server offering STARTTLS with a self-signed certificate
    peer = start_peer(tls_context=tls_context)

    # When delivering, Then the session is encrypted and the message accepted
    attempt = send([peer.server], [BOB])

    assert attempt.tls.startswith("TLSv1")
    assert attempt.cipher, "the negotiated cipher is recorded"
    assert attempt.server == "mx.example.com"
    assert attempt.replies[BOB].accepted
    assert [r.content for r in peer.received] == [RAW]


def test_a_message_accepted_before_an_odd_quit_reply_is_delivered_once(
    start_peer: StartPeer,
) -> None:
    # Given a first server that accepts the message but answers QUIT with 421
    first = start_peer(Peer(quit="421 4.3.2 Shutting down"))
    second = start_peer()

    # When delivering
    attempt = send([first.server, second.server], [BOB])

    # Then the recipient is reported accepted, and the second server is not used
    assert len(first.received) == 1
    assert attempt.replies[BOB] == Reply(250, "2.0.0 Queued as 42")
    assert second.received == []


def test_an_internationalized_recipient_gets_a_reply(start_peer: StartPeer) -> None:
    peer = start_peer(enable_SMTPUTF8=True)

    attempt = send([peer.server], ["jürgen@example.de"])

    assert "jürgen@example.de" in attempt.replies


def test_an_odd_quit_reply_does_not_undo_the_data_reply(start_peer: StartPeer) -> None:
    peer = start_peer(Peer(quit="421 4.3.2 Shutting down"))

    attempt = send([peer.server], [BOB])

    assert len(peer.received) == 1
    assert attempt.replies[BOB] == Reply(250, "2.0.0 Queued as 42")


def test_a_server_on_an_ipv6_address_is_delivered_to(start_peer: StartPeer) -> None:
    # Given a server listening on the IPv6 loopback only (an AAAA-only MX host)
    peer = Peer(port=free_port())
    controller = Controller(peer, hostname="::1", port=peer.port)
    try:
        controller.start()
    except OSError:
        pytest.skip("no IPv6 loopback on this machine")
    try:
        # When delivering to it after an IPv4 address that refuses
        attempt = send([closed(), Server("mx6.example.com", "::1", peer.port)], [BOB])
    finally:
        controller.stop()

    # Then the IPv6 server took the message and is named as the one that answered
    assert attempt.replies[BOB].accepted
    assert (attempt.server, attempt.peer_ip) == ("mx6.example.com", "::1")
    assert "closed.example.com 127.0.0.1:" in attempt.errors[0]
    assert len(peer.received) == 1


def test_required_tls_is_never_given_up_for_plain_text(start_peer: StartPeer) -> None:
    # Given a server that does not offer STARTTLS, for a destination that requires TLS
    peer = start_peer()

    # When delivering
    attempt = send([peer.server], [BOB, CAROL], policy=REQUIRED)

    # Then nothing is sent, and each recipient gets a temporary reply that says why
    assert peer.received == []
    for reply in attempt.replies.values():
        assert not reply.accepted and not reply.permanent
        assert reply.text.startswith("TLS required by outbound TLS peer example.com, not sent")
        assert "does not offer STARTTLS" in reply.text


def test_required_tls_moves_on_to_a_server_that_offers_it(
    start_peer: StartPeer, tls_context: ssl.SSLContext
) -> None:
    plain, secure = start_peer(), start_peer(tls_context=tls_context)

    attempt = send([plain.server, secure.server], [BOB], policy=REQUIRED)

    assert plain.received == []
    assert len(secure.received) == 1
    assert attempt.replies[BOB].accepted
    assert attempt.tls in ("TLSv1.2", "TLSv1.3")


def test_a_version_below_the_required_minimum_is_not_used(
    start_peer: StartPeer, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Given a server whose TLS stops at 1.2, for a destination that requires 1.3
    context = server_context(*self_signed("old.example.com", tmp_path_factory.mktemp("old")))
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    peer = start_peer(tls_context=context)
    policy = TlsPolicy(required=True, min_version="TLSv1.3", reason="outbound TLS peer x")

    # When delivering, Then the handshake fails and nothing is sent
    attempt = send([peer.server], [BOB], policy=policy)

    assert peer.received == []
    assert attempt.replies[BOB].text.startswith("TLS required by outbound TLS peer x, not sent")
    assert not attempt.replies[BOB].permanent
