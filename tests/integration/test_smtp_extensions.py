"""What the SMTP front advertises in EHLO, on both ports and on both sides of STARTTLS, and
that it does it: PIPELINING (RFC 2920), ENHANCEDSTATUSCODES (RFC 2034) on every reply, and no
AUTH anywhere. Raw SMTP over real loopback sockets."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import Gateway
from tests.integration.test_smtp_protocol import (
    HELO,
    SENDER,
    ConnectionClosed,
    Reply,
    Tracking,
    greeted,
    having,
    headers,
    queued_uuids,
    unique,
)

pytestmark = pytest.mark.integration

ADVERTISED = {"PIPELINING", "ENHANCEDSTATUSCODES", "SIZE", "8BITMIME", "SMTPUTF8", "HELP"}
UNSERVED = "someone@unserved.test"  # a domain no tenant manages: "550 5.7.1 Relaying denied"
ENHANCED = re.compile(r"^([245])\.\d{1,3}\.\d{1,3}( |$)")


def keywords(ehlo: Reply) -> set[str]:
    assert ehlo.code == 250, ehlo
    return {line.split(" ", 1)[0].upper() for line in ehlo.lines[1:]}


def assert_enhanced(reply: Reply) -> None:
    """RFC 2034 3: the enhanced code follows the reply code, of the same class."""
    for line in reply.lines:
        found = ENHANCED.match(line)
        assert found and found.group(1) == str(reply.code)[0], reply


def port_of(gateway: Gateway, name: str) -> tuple[str, int]:
    return gateway.smtp if name == "inbound" else gateway.relay


@pytest.mark.parametrize("port", ["inbound", "relay"])
def test_ehlo_offers_pipelining_and_enhanced_codes_and_never_auth(
    gateway: Gateway, port: str
) -> None:
    with greeted(port_of(gateway, port), ehlo=False) as wire:
        # Given a plain session, EHLO lists the extensions and STARTTLS, and no AUTH
        before = keywords(wire.command(f"EHLO {HELO}"))
        assert before == ADVERTISED | {"STARTTLS"}, before
        # When the session is upgraded to TLS
        starttls = wire.command("STARTTLS")
        assert starttls.code == 220
        assert_enhanced(starttls)
        wire.starttls()
        # Then EHLO lists the same extensions, without STARTTLS and still without AUTH
        after = keywords(wire.command(f"EHLO {HELO}"))
        assert after == ADVERTISED, after
        # … and AUTH is an unknown command, answered with an enhanced code
        auth = wire.command("AUTH PLAIN AGJvYgBzZWNyZXQ=")
        assert auth.code == 500, auth
        assert_enhanced(auth)
        help_ = wire.command("HELP")
        assert "AUTH" not in help_.text.split(), help_
        assert wire.command(f"MAIL FROM:<{SENDER}>").code in (250, 550)


def test_every_reply_after_the_greeting_carries_an_enhanced_code(gateway: Gateway) -> None:
    with greeted(gateway.smtp, ehlo=False) as wire:
        commands = [
            f"MAIL FROM:<{SENDER}>",  # 503: no EHLO yet
            "EHLO",  # 501: no host name
            f"HELO {HELO}",
            f"EHLO {HELO}",
            "NOOP",
            "RSET",
            "HELP",
            "HELP MAIL",
            "HELP FROB",
            "VRFY <postmaster@example.com>",
            "VRFY",
            "EXPN staff",
            "XYZZY",
            "",
            "RCPT TO:<a@example.com>",
            "DATA",
            "MAIL FROM:<a b@c>",
            "MAIL FROM:<a@sender.test> FROB=1",
            f"MAIL FROM:<{SENDER}>",
            f"MAIL FROM:<{SENDER}>",
            f"RCPT TO:<{UNSERVED}>",
            "DATA",
            "RSET extra",
            "QUIT now",
        ]
        for command in commands:
            reply = wire.command(command)
            if command.startswith(("EHLO ", "HELO ")):
                assert reply.code == 250, reply  # RFC 2034 3: no enhanced code here
                continue
            assert_enhanced(reply)
        # the end of a message, and QUIT
        recipient = unique("codes")
        assert wire.command(f"RCPT TO:<{recipient}>").code == 250
        data = wire.command("DATA")
        assert data.code == 354 and not ENHANCED.match(data.lines[0]), data  # no class 3
        wire.send(headers(recipient, "codes") + b"x" * 1200 + b"\r\n.\r\n")
        too_long = wire.reply()
        assert too_long.code == 500, too_long
        assert_enhanced(too_long)
        quit_ = wire.command("QUIT")
        assert quit_.code == 221
        assert_enhanced(quit_)


def test_a_pipelined_group_with_a_refused_recipient_is_answered_in_order(
    gateway: Gateway,
) -> None:
    first, second, third = unique("pipe-a"), unique("pipe-b"), unique("pipe-c")
    tracking = Tracking(gateway)
    with greeted(gateway.smtp) as wire:
        # Given MAIL, three RCPTs (one refused) and DATA in one write (RFC 2920 3.1)
        wire.send(
            f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{first}>\r\nRCPT TO:<{UNSERVED}>\r\n"
            f"RCPT TO:<{second}>\r\nDATA\r\n".encode()
        )
        # Then each is answered, in order
        replies = [wire.reply() for _ in range(5)]
        assert [r.code for r in replies] == [250, 250, 550, 250, 354], replies
        # When the data, its end and the next transaction go in one write
        wire.send(
            headers(first, "pipelined 1")
            + b"One.\r\n.\r\n"
            + f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{third}>\r\nDATA\r\n".encode()
        )
        # Then the first message is queued, and the second transaction goes on
        (uuid_1,) = queued_uuids(wire.reply())
        assert [wire.reply().code for _ in range(3)] == [250, 250, 354]
        wire.send(headers(third, "pipelined 2") + b"Two.\r\n.\r\nQUIT\r\n")
        (uuid_2,) = queued_uuids(wire.reply())
        assert wire.reply().code == 221

    accepted = tracking.accepted()
    assert {row["recipient"] for row in having(accepted, message_uuid=uuid_1)} == {first, second}
    assert {row["recipient"] for row in having(accepted, message_uuid=uuid_2)} == {third}


def test_a_pipelined_group_whose_recipients_are_all_refused_ends_with_503(
    gateway: Gateway,
) -> None:
    with greeted(gateway.smtp) as wire:
        wire.send(f"MAIL FROM:<{SENDER}>\r\nRCPT TO:<{UNSERVED}>\r\nDATA\r\nNOOP\r\n".encode())
        codes = [wire.reply() for _ in range(4)]
        assert [r.code for r in codes] == [250, 550, 503, 250], codes
        assert_enhanced(codes[2])


def test_commands_pipelined_after_starttls_are_not_answered(gateway: Gateway) -> None:
    # RFC 3207 4.2 / RFC 2920 3.1: what follows STARTTLS in the same write is discarded; an
    # answer to it would let a man in the middle inject commands into the TLS session.
    with greeted(gateway.smtp) as wire:
        wire.send(f"STARTTLS\r\nMAIL FROM:<{SENDER}>\r\n".encode())
        assert wire.reply().code == 220
        try:
            wire.starttls()
            reply = wire.command(f"EHLO {HELO}")
        except (ConnectionClosed, OSError):
            return  # refusing the session is safe too
        assert reply.code == 250, reply
        # no transaction was started by the injected MAIL
        assert wire.command(f"RCPT TO:<{unique('inject')}>").code == 503
