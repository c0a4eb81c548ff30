"""Stage 3 through the running gateway and scripted loopback servers: partial acceptance in one
transaction, retries visible in the timeline, and the DSN a bounce sends, parsed."""

from __future__ import annotations

import smtplib
import uuid
from collections import deque
from email import message_from_bytes, policy
from typing import Any

import pytest

from mailgate.catalog import Status
from tests.integration.conftest import Gateway
from tests.support.api_client import wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def send(gateway: Gateway, sender: str, recipients: list[str], subject: str) -> str:
    raw = (
        f"From: {sender}\r\nTo: {', '.join(recipients)}\r\nSubject: {subject}\r\n"
        f"Message-ID: <{uuid.uuid4()}@test>\r\n\r\nBody.\r\n"
    ).encode()
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        smtp.ehlo("client.sender.test")
        smtp.mail(sender)
        for recipient in recipients:
            smtp.rcpt(recipient)
        _code, reply = smtp.data(raw)
    return reply.decode().split("queued as ", 1)[1].split()[0]


def row_in(api: Any, message_uuid: str, recipient: str, *statuses: str) -> Any:
    def check() -> Any:
        row = api.row(message_uuid, recipient)
        return row if row and row["status"] in statuses else None

    return wait_for(check)


def test_one_transaction_delivers_defers_and_bounces_recipients_each_by_its_reply(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a server that accepts the first RCPT, greylists the second, refuses the third
    api = gateway.add_tenant("partial", "partial.test", peer)
    peer.rcpt_replies = deque(["250 2.1.5 OK", "451 4.7.1 Greylisted", "550 5.1.1 No such user"])
    recipients = ["a@partial.test", "b@partial.test", "c@partial.test"]

    # When one message goes to the three, from the null sender (so no DSN comes back)
    message_uuid = send(gateway, "", recipients, "partial")

    # Then each gets its own outcome; the deferred one is delivered by the retry
    assert row_in(api, message_uuid, "a@partial.test", "delivered")
    assert row_in(api, message_uuid, "c@partial.test", "bounced")["status"] == Status.BOUNCED
    assert row_in(api, message_uuid, "b@partial.test", "delivered")
    assert [sorted(r.rcpt_tos) for r in peer.received] == [["a@partial.test"], ["b@partial.test"]]
    # And b's timeline shows the deferral with its reply, server and next attempt time
    _status, detail = api.detail(message_uuid, "b@partial.test")
    deferred, delivered = [e for e in detail["events"] if e["stage"] == "deliver"]
    assert deferred["event"] == "deferred"
    assert deferred["reply"] == "451 4.7.1 Greylisted"
    assert deferred["ip"] == "127.0.0.1" and deferred["server"] == "127.0.0.1"
    assert deferred["next_attempt_at"] is not None
    assert delivered["event"] == "delivered" and delivered["next_attempt_at"] is None
    assert detail["processing"]["delivery"]["reply"] == "250 2.0.0 Accepted"
    assert detail["processing"]["delivery"]["next_attempt_at"] is None


def test_a_bounce_sends_the_sender_a_dsn_that_is_tracked_and_parses(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant whose server refuses one user; the sender is a user of the same tenant
    api = gateway.add_tenant("dsn", "dsn.test", peer)
    peer.rcpt_replies = deque(["550 5.1.1 No such user"])

    # When a message to that user bounces
    message_uuid = send(gateway, "boss@dsn.test", ["gone@dsn.test"], "Budget")
    assert row_in(api, message_uuid, "gone@dsn.test", "bounced")

    # Then the sender's server receives one DSN from the null sender …
    wait_for(lambda: peer.received)
    [dsn] = peer.received
    assert (dsn.mail_from, dsn.rcpt_tos) == ("<>", ["boss@dsn.test"])
    report = message_from_bytes(dsn.data, policy=policy.default)
    assert report.get_content_type() == "multipart/report"
    _text, status, headers = report.get_payload()  # type: ignore[misc]
    per_recipient = status.get_payload()[1]
    assert per_recipient["Final-Recipient"] == "rfc822; gone@dsn.test"
    assert per_recipient["Status"] == "5.1.1"
    assert "Subject: Budget" in headers.get_content()
    # … and it is a tracked outbound message of the tenant, delivered, from "<>"
    _status, page = api.search(period="1h", direction="outbound", senders=["<>"])
    [row] = [item for item in page["items"] if item["recipient"] == "boss@dsn.test"]
    assert row["status"] == Status.DELIVERED
    assert row["sender"] == "<>"
    _status, detail = api.detail(message_uuid)
    assert "dsn_sent" in [e["event"] for e in detail["events"]]
