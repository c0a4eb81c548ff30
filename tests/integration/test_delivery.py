"""Stage 3 through the running gateway and scripted loopback servers: partial acceptance in one
transaction, retries visible in the timeline, and the DSN a bounce sends, parsed."""

from __future__ import annotations

import os
import smtplib
import time
import uuid
from collections import deque
from collections.abc import Iterator
from email import message_from_bytes, policy
from typing import Any

import pytest

from mailgate import resources
from mailgate.catalog import Status
from mailgate.jobs import DeliverJob
from mailgate.storage.queues import JobQueue
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.support.api_client import wait_for
from tests.support.smtp_peer import HeldServer, ScriptedServer

pytestmark = pytest.mark.integration


@pytest.fixture
def slow_peer() -> Iterator[HeldServer]:
    server = HeldServer(hold_s=4.0).start()
    yield server
    server.release()
    server.stop()


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

    # … and it is a tracked message of the tenant, delivered, from "<>": inbound, since it
    # goes to one of the tenant's own users
    def dsn_row() -> Any:
        _status, page = api.search(period="1h", direction="inbound", senders=["<>"])
        rows = [item for item in page["items"] if item["recipient"] == "boss@dsn.test"]
        return rows if rows and rows[0]["status"] != Status.PROCESSING else None

    [row] = wait_for(dsn_row)
    assert row["status"] == Status.DELIVERED
    assert row["sender"] == "<>"
    _status, detail = api.detail(message_uuid)
    assert "dsn_sent" in [e["event"] for e in detail["events"]]


def test_a_duplicate_deliver_job_delivers_once(gateway: Gateway, slow_peer: HeldServer) -> None:
    # Given a message being delivered to a server that holds it in DATA
    api = gateway.add_tenant("twice", "twice.test", slow_peer)
    message_uuid = send(gateway, "a@sender.test", ["user@twice.test"], "once only")
    assert slow_peer.in_data.wait(timeout=30)

    # When the same deliver job is queued again meanwhile (an SQS duplicate)
    [row], _events = TrackingStore(resources.TRACKING.local_name).message("twice", message_uuid)
    duplicate = DeliverJob(
        tenant_id="twice",
        message_uuid=message_uuid,
        direction=row.direction,
        mail_key=row.mail_key,
        sender=row.sender,
        recipients=[row.recipient],
        received_at=row.time,
        sender_ip=row.sender_ip,
    )
    JobQueue(os.environ[resources.DELIVER_QUEUE.env_var]).send(duplicate)
    time.sleep(2)  # the duplicate runs while the first still holds the recipient
    slow_peer.release()

    # Then the recipient is delivered, and the server received the message once
    assert row_in(api, message_uuid, "user@twice.test", "delivered")
    time.sleep(1.5)
    assert len(slow_peer.received) == 1
