"""Protocol hardening of the inbound SMTP front, byte for byte over real loopback sockets.

Each test talks raw SMTP (``socket.create_connection``) so that exactly the bytes under test
reach the server: SMTP smuggling payloads, over-long lines, too many recipients, commands out
of sequence, pipelining, idle and vanishing clients, the null sender and STARTTLS.
"""

from __future__ import annotations

import re
import socket
import ssl
import struct
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formatdate, make_msgid
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from functions.receive.front import start_fronts
from mailgate import aws, resources
from mailgate.catalog import Status
from mailgate.settings import ReceiveSettings
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient, wait_for
from tests.support.ports import free_port
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

SENDER = "a@sender.test"
HELO = "client.sender.test"
CRLF = b"\r\n"


class ConnectionClosed(Exception):
    """The server closed the connection (recv returned no bytes)."""


@dataclass(frozen=True)
class Reply:
    code: int
    lines: list[str]  # each line without its code and separator

    @property
    def text(self) -> str:
        return "\n".join(f"{self.code} {line}" for line in self.lines)

    def __str__(self) -> str:
        return self.text


class Wire:
    """A raw SMTP client: exact bytes out, one (possibly multi-line) reply in."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.sock: socket.socket = socket.create_connection(address, timeout=timeout)
        self.timeout = timeout
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _line(self) -> bytes:
        while CRLF not in self.buffer:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError as error:
                raise ConnectionClosed(f"reset by the server; unread: {self.buffer!r}") from error
            if not chunk:
                raise ConnectionClosed(f"closed by the server; unread: {self.buffer!r}")
            self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(CRLF)
        return line

    def reply(self) -> Reply:
        """One reply: lines "250-…" continue it, "250 …" (or a bare "250") ends it."""
        lines: list[str] = []
        while True:
            line = self._line().decode("utf-8", "replace")
            assert re.match(r"^\d{3}([ -]|$)", line), f"not an SMTP reply line: {line!r}"
            lines.append(line[4:])
            if len(line) == 3 or line[3] == " ":
                return Reply(int(line[:3]), lines)

    def command(self, line: str | bytes) -> Reply:
        self.send((line.encode() if isinstance(line, str) else line) + CRLF)
        return self.reply()

    def unsolicited(self, wait: float = 0.3) -> bytes:
        """Whatever the server sent that no reply read yet has consumed."""
        self.sock.settimeout(wait)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                self.buffer += chunk
        except TimeoutError:
            pass
        finally:
            self.sock.settimeout(self.timeout)
        extra, self.buffer = self.buffer, b""
        return extra

    def starttls(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        assert not self.buffer, self.buffer
        self.sock = context.wrap_socket(self.sock, server_hostname="mailgate.localhost")

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Wire:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def greeted(address: tuple[str, int], ehlo: bool = True) -> Wire:
    wire = Wire(address)
    assert wire.reply().code == 220
    if ehlo:
        assert wire.command(f"EHLO {HELO}").code == 250
    return wire


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}@example.com"


def headers(recipient: str, subject: str) -> bytes:
    return (
        f"From: <{SENDER}>\r\nTo: <{recipient}>\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@sender.test>\r\n\r\n"
    ).encode()


def queued_uuids(reply: Reply) -> list[str]:
    assert reply.code == 250, reply
    return reply.lines[-1].split("queued as ", 1)[1].split()


def mail_keys() -> set[str]:
    pages = (
        aws.client("s3").get_paginator("list_objects_v2").paginate(Bucket=resources.MAIL.local_name)
    )
    return {obj["Key"] for page in pages for obj in page.get("Contents", [])}


class Tracking:
    """The inbound rows (accepted and blocked) recorded since the object was made.

    Searching is the slow part of these tests, so each test searches a custom period that
    starts when it starts, once per type, and filters the items here."""

    def __init__(self, gateway: Gateway, api: ApiClient | None = None) -> None:
        self.api = api or gateway.api
        self.start = datetime.now(UTC) - timedelta(seconds=2)

    def _items(self, type_: str) -> list[dict[str, Any]]:
        period = {
            "start": self.start.isoformat(),
            "end": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(),
        }
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            query: dict[str, Any] = {"period": period, "limit": 1000, "type": type_}
            if cursor:
                query["cursor"] = cursor
            status, page = self.api.search(**query)
            assert status == 200, page
            items += page["items"]
            cursor = page["next_cursor"]
            if not cursor:
                return items

    def accepted(self) -> list[dict[str, Any]]:
        return self._items("accepted")

    def blocked(self) -> list[dict[str, Any]]:
        return self._items("blocked")

    def all(self) -> list[dict[str, Any]]:
        return self.accepted() + self.blocked()


def having(items: list[dict[str, Any]], **match: str) -> list[dict[str, Any]]:
    return [item for item in items if all(item.get(k) == v for k, v in match.items())]


def recipients_of(items: list[dict[str, Any]]) -> set[str]:
    return {item["recipient"] for item in items}


def assert_still_serving(gateway: Gateway, wire: Wire | None = None) -> None:
    """The open session (if any) still answers, and a new connection is served."""
    if wire is not None:
        assert wire.command("RSET").code == 250
        assert wire.command("NOOP").code == 250
    with greeted(gateway.smtp) as fresh:
        assert fresh.command("NOOP").code == 250
        assert fresh.command("QUIT").code == 221


# -- 1. SMTP smuggling ---------------------------------------------------------------------------

SMUGGLING_ENDINGS = {
    "LF.LF": b"\n.\n",
    "LF.CRLF": b"\n.\r\n",
    "CRLF.LF": b"\r\n.\n",
    "CR.CR": b"\r.\r",
    "CR.LF": b"\r.\n",
    "CRLF.CR": b"\r\n.\r",
}


@pytest.mark.parametrize("ending", SMUGGLING_ENDINGS.values(), ids=SMUGGLING_ENDINGS.keys())
def test_smuggled_end_of_data_neither_ends_nor_splits_the_message(
    gateway: Gateway, ending: bytes
) -> None:
    # Given a message whose data holds a fake end of data and a second transaction after it
    recipient, smuggled = unique("smuggle"), unique("smuggled")
    data = (
        headers(recipient, "carrier")
        + b"first message"
        + ending
        + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{smuggled}>\r\nDATA\r\n".encode()
        + headers(smuggled, "smuggled")
        + b"smuggled body\r\n.\r\n"
    )
    keys_before, tracking = mail_keys(), Tracking(gateway)

    with greeted(gateway.smtp) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354

        # When it is sent in one write
        wire.send(data)

        # Then the only answer is the refusal of the whole message, at the real end of data
        reply = wire.reply()
        assert reply.code == 550, reply
        assert reply.lines[0].startswith("5.6.0"), reply
        assert wire.unsolicited() == b"", "the smuggled commands were answered"
        # … and the session is still usable
        assert_still_serving(gateway, wire)

    # … nothing was stored, nothing was accepted for either recipient
    assert mail_keys() - keys_before == set()
    accepted, blocked = tracking.accepted(), tracking.blocked()
    assert having(accepted, recipient=recipient) == []
    assert having(accepted + blocked, recipient=smuggled) == []
    # … and the refusal is logged as blocked traffic for the real recipient only
    (row,) = having(blocked, recipient=recipient)
    assert row["block_reason"] == "other"


# -- 2. line lengths -----------------------------------------------------------------------------


@pytest.mark.parametrize("length", [1500, 70_000], ids=["1500-octets", "70000-octets"])
def test_data_line_over_1000_octets_is_refused_and_nothing_is_stored(
    gateway: Gateway, length: int
) -> None:
    recipient = unique("longline")
    keys_before, tracking = mail_keys(), Tracking(gateway)
    with greeted(gateway.smtp) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(headers(recipient, "long line") + b"x" * length + b"\r\nshort\r\n.\r\n")
        reply = wire.reply()
        assert reply.code == 500, reply
        assert "Line too long" in reply.text
        assert wire.unsolicited() == b""
        assert_still_serving(gateway, wire)
    assert mail_keys() - keys_before == set()
    assert having(tracking.all(), recipient=recipient) == []


def test_data_line_of_exactly_1000_octets_is_accepted(gateway: Gateway) -> None:
    # RFC 5321 4.5.3.1.6: 1000 octets including the CRLF is the limit, not above it.
    recipient, tracking = unique("maxline"), Tracking(gateway)
    with greeted(gateway.smtp) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(headers(recipient, "max line") + b"y" * 998 + b"\r\n.\r\n")
        (message_uuid,) = queued_uuids(wire.reply())
    assert having(tracking.accepted(), recipient=recipient, message_uuid=message_uuid) != []


@pytest.mark.parametrize("length", [600, 5000], ids=["600-octets", "5000-octets"])
def test_command_line_over_512_octets_is_refused_with_500(gateway: Gateway, length: int) -> None:
    local = "a" * (length - len("MAIL FROM:<@sender.test>"))
    line = f"MAIL FROM:<{local}@sender.test>"
    assert len(line) == length
    with greeted(gateway.smtp) as wire:
        reply = wire.command(line)
        assert reply.code == 500, reply
        assert wire.unsolicited() == b""
        # the over-long MAIL did not start a transaction
        assert wire.command(f"RCPT TO:<{unique('cmdline')}>").code == 503
        assert_still_serving(gateway, wire)


# -- 3. recipient limit --------------------------------------------------------------------------


def test_recipients_beyond_100_get_452_and_the_first_100_are_accepted(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # A tenant of its own, so that its 100 rows do not lengthen the demo tenant's searches
    # (tests/integration/test_tracking_api.py pages through all of the last hour's rows).
    tag = uuid.uuid4().hex[:8]
    api = gateway.add_tenant(f"many-{tag}", f"many-{tag}.test", peer)
    recipients = [f"rcpt-{i:03}@many-{tag}.test" for i in range(105)]
    tracking = Tracking(gateway, api)
    with greeted(gateway.smtp) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        replies = [wire.command(f"RCPT TO:<{recipient}>") for recipient in recipients]
        assert [r.code for r in replies[:100]] == [250] * 100
        for reply in replies[100:]:
            assert reply.code == 452, reply
            assert reply.lines[0].startswith("4.5.3"), reply
        assert wire.command("DATA").code == 354
        wire.send(headers(recipients[0], "many recipients") + b"Hello all.\r\n.\r\n")
        (message_uuid,) = queued_uuids(wire.reply())

    accepted, blocked = tracking.accepted(), tracking.blocked()
    mine = having(accepted, message_uuid=message_uuid)
    assert sorted(row["recipient"] for row in mine) == recipients[:100]
    assert recipients_of(accepted + blocked) & set(recipients[100:]) == set()


# -- 4. command sequence and syntax --------------------------------------------------------------


def test_mail_before_helo_is_refused_with_503(gateway: Gateway) -> None:
    with greeted(gateway.smtp, ehlo=False) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 503
        assert wire.command(f"RCPT TO:<{unique('nohelo')}>").code == 503
        assert wire.command("DATA").code == 503
        # HELO then opens the session normally
        assert wire.command(f"HELO {HELO}").code == 250
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250


def test_unknown_command_gets_500_and_the_session_goes_on(gateway: Gateway) -> None:
    with greeted(gateway.smtp) as wire:
        assert wire.command("XYZZY frobnicate").code == 500
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250


def test_data_without_rcpt_gets_503(gateway: Gateway) -> None:
    with greeted(gateway.smtp) as wire:
        assert wire.command("DATA").code == 503
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command("DATA").code == 503
        assert wire.unsolicited() == b""


def test_rcpt_without_mail_gets_503(gateway: Gateway) -> None:
    recipient, tracking = unique("nomail"), Tracking(gateway)
    with greeted(gateway.smtp) as wire:
        assert wire.command(f"RCPT TO:<{recipient}>").code == 503
    assert having(tracking.all(), recipient=recipient) == []


@pytest.mark.parametrize(
    "command",
    [
        "MAIL FROM:<a b@c>",
        "MAIL FROM:<a@b@>",
        "MAIL FROM:a b@sender.test",
        "MAIL FROM:<@sender.test>",
    ],
)
def test_malformed_sender_address_gets_5xx(gateway: Gateway, command: str) -> None:
    with greeted(gateway.smtp) as wire:
        reply = wire.command(command)
        assert 500 <= reply.code < 600, reply
        # no transaction was started by it
        assert wire.command(f"RCPT TO:<{unique('badmail')}>").code == 503


def test_malformed_recipient_address_gets_5xx(gateway: Gateway) -> None:
    with greeted(gateway.smtp) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        reply = wire.command("RCPT TO:<a b@example.com>")
        assert 500 <= reply.code < 600, reply
        assert wire.command("DATA").code == 503


# -- 5. pipelining -------------------------------------------------------------------------------


def test_pipelined_commands_are_answered_in_order_and_the_message_accepted(
    gateway: Gateway,
) -> None:
    recipient, tracking = unique("pipeline"), Tracking(gateway)
    with greeted(gateway.smtp, ehlo=False) as wire:
        # One write: EHLO, MAIL, RCPT, DATA (RFC 2920: DATA ends the group)
        wire.send(
            f"EHLO {HELO}\r\nMAIL FROM:<{SENDER}>\r\nRCPT TO:<{recipient}>\r\nDATA\r\n".encode()
        )
        ehlo = wire.reply()
        assert ehlo.code == 250 and len(ehlo.lines) > 1, ehlo
        mail, rcpt, data = wire.reply(), wire.reply(), wire.reply()
        assert (mail.code, rcpt.code, data.code) == (250, 250, 354), (mail, rcpt, data)
        assert mail.lines[0].startswith("2.1.0") and rcpt.lines[0].startswith("2.1.5")
        wire.send(headers(recipient, "pipelined") + b"Hello.\r\n.\r\n")
        (message_uuid,) = queued_uuids(wire.reply())
        # A pipelined RSET + NOOP + QUIT after the message: three replies in order
        wire.send(b"RSET\r\nNOOP\r\nQUIT\r\n")
        assert [wire.reply().code for _ in range(3)] == [250, 250, 221]
    assert having(tracking.accepted(), recipient=recipient, message_uuid=message_uuid) != []


# -- 6. idle client ------------------------------------------------------------------------------


@pytest.fixture
def short_idle_front(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, int]]:
    """A second front on other ports, same environment, idle timeout 1 s."""
    monkeypatch.setenv("MAILGATE_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("MAILGATE_RELAY_PORT", str(free_port()))
    monkeypatch.setenv("MAILGATE_SMTP_IDLE_TIMEOUT_S", "1")
    settings = ReceiveSettings()
    assert settings.idle_timeout_s == 1.0
    controllers: list[Controller] = start_fronts(settings)
    try:
        yield (settings.bind, settings.smtp_port)
    finally:
        for controller in controllers:
            controller.stop()


def test_idle_client_gets_421_and_is_disconnected(short_idle_front: tuple[str, int]) -> None:
    with greeted(short_idle_front) as wire:
        start = time.monotonic()
        # the client stays silent …
        try:
            reply: Reply | None = wire.reply()
        except ConnectionClosed:
            reply = None
        # … and the server closes the connection within a few seconds
        assert time.monotonic() - start < 5
        with pytest.raises(ConnectionClosed):
            wire.reply()
        # having said why first
        assert reply is not None and reply.code == 421, reply


def test_idle_client_is_disconnected_within_a_few_seconds(
    short_idle_front: tuple[str, int],
) -> None:
    # The part of the idle-timeout behaviour that holds today: the connection is closed.
    with greeted(short_idle_front) as wire:
        start = time.monotonic()
        with pytest.raises(ConnectionClosed):
            while True:
                wire.reply()
        assert 0.5 < time.monotonic() - start < 5
    with greeted(short_idle_front) as fresh:  # the front itself is still up
        assert fresh.command("NOOP").code == 250


def test_client_sending_data_steadily_is_not_cut_off_by_the_idle_timeout(
    short_idle_front: tuple[str, int],
) -> None:
    recipient = unique("slowdata")
    with greeted(short_idle_front) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(headers(recipient, "slow but steady"))
        # never idle for more than 0.3 s, but 2.4 s in DATA overall (timeout: 1 s)
        for i in range(8):
            time.sleep(0.3)
            try:
                wire.send(f"line {i}\r\n".encode())
            except OSError:
                break
        try:
            wire.send(b".\r\n")
            reply: Reply | str = wire.reply()
        except (ConnectionClosed, OSError) as error:
            reply = f"connection lost: {error!r}"
        assert isinstance(reply, Reply) and reply.code == 250, reply


# -- 7. client vanishing mid-DATA ----------------------------------------------------------------


def test_client_disconnecting_mid_data_leaves_nothing_stored(gateway: Gateway) -> None:
    recipient = unique("vanish")
    keys_before, tracking = mail_keys(), Tracking(gateway)
    wire = greeted(gateway.smtp)
    assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
    assert wire.command(f"RCPT TO:<{recipient}>").code == 250
    assert wire.command("DATA").code == 354
    wire.send(headers(recipient, "half a message") + b"first half\r\n.")
    wire.close()  # no end of data

    time.sleep(0.5)
    assert_still_serving(gateway)
    assert mail_keys() - keys_before == set()
    assert having(tracking.all(), recipient=recipient) == []


def test_client_resetting_mid_data_leaves_nothing_stored(gateway: Gateway) -> None:
    recipient = unique("reset")
    keys_before, tracking = mail_keys(), Tracking(gateway)
    wire = greeted(gateway.smtp)
    assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
    assert wire.command(f"RCPT TO:<{recipient}>").code == 250
    assert wire.command("DATA").code == 354
    wire.send(headers(recipient, "half a message") + b"first half\r\n")
    # SO_LINGER 0: close with a TCP RST instead of a FIN
    wire.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    wire.close()

    time.sleep(0.5)
    assert_still_serving(gateway)
    assert mail_keys() - keys_before == set()
    assert having(tracking.all(), recipient=recipient) == []


# -- 8. null sender ------------------------------------------------------------------------------


def test_null_sender_is_accepted_and_delivered(gateway: Gateway) -> None:
    recipient = unique("bounce")
    with greeted(gateway.smtp) as wire:
        reply = wire.command("MAIL FROM:<>")
        assert reply.code == 250, reply
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(
            f"From: MAILER-DAEMON@sender.test\r\nTo: {recipient}\r\nSubject: Undeliverable\r\n"
            f"Date: {formatdate()}\r\nMessage-ID: {make_msgid()}\r\n\r\nBounce.\r\n.\r\n".encode()
        )
        (message_uuid,) = queued_uuids(wire.reply())

    def delivered() -> Any:
        found = gateway.api.row(message_uuid, recipient)
        return found if found and found["status"] == Status.DELIVERED else None

    row = wait_for(delivered, timeout=20)
    assert row["sender"] == "<>"


# -- 9. STARTTLS ---------------------------------------------------------------------------------


def test_starttls_is_advertised_and_recorded_as_upstream_tls(gateway: Gateway) -> None:
    recipient = unique("tls")
    with greeted(gateway.smtp, ehlo=False) as wire:
        ehlo = wire.command(f"EHLO {HELO}")
        assert "STARTTLS" in [line.upper() for line in ehlo.lines], ehlo
        assert wire.command("STARTTLS").code == 220
        wire.starttls()
        # RFC 3207 4.2: the session starts over; STARTTLS is no longer offered
        ehlo = wire.command(f"EHLO {HELO}")
        assert ehlo.code == 250 and "STARTTLS" not in ehlo.lines, ehlo
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(headers(recipient, "over TLS") + b"Secret.\r\n.\r\n")
        (message_uuid,) = queued_uuids(wire.reply())
        version = wire.sock.version() if isinstance(wire.sock, ssl.SSLSocket) else None

    row = gateway.api.row(message_uuid, recipient)
    assert row is not None
    assert re.fullmatch(r"TLSv1\.[23]", row["upstream_tls"]), row["upstream_tls"]
    assert row["upstream_tls"] == version


def test_plain_session_is_recorded_without_tls(gateway: Gateway) -> None:
    recipient = unique("plain")
    with greeted(gateway.smtp) as wire:
        assert wire.command(f"MAIL FROM:<{SENDER}>").code == 250
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        assert wire.command("DATA").code == 354
        wire.send(headers(recipient, "in the clear") + b"Hello.\r\n.\r\n")
        (message_uuid,) = queued_uuids(wire.reply())
    row = gateway.api.row(message_uuid, recipient)
    assert row is not None and row["upstream_tls"] == "none"
