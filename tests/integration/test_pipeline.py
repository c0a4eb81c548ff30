"""One message end to end through real sockets: SMTP in, S3 + SQS, scan, deliver, search."""

from __future__ import annotations

import json
import smtplib
import time
import uuid
from collections import deque
from typing import Any

import pytest

from mailgate import aws, resources
from mailgate.catalog import Status
from tests.integration.conftest import Gateway
from tests.support.api_client import wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def message(subject: str, message_id: str = "") -> bytes:
    message_id = message_id or f"<{uuid.uuid4()}@sender.test>"
    return (
        f"From: Alice Example <alice@sender.test>\r\nTo: Someone <someone@example.com>\r\n"
        f"Subject: {subject}\r\nMessage-ID: {message_id}\r\n\r\nHello.\r\n.dot line\r\n"
    ).encode()


def send(
    gateway: Gateway, sender: str, recipients: list[str], raw: bytes, relay: bool = False
) -> tuple[int, str]:
    host, port = gateway.relay if relay else gateway.smtp
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("client.sender.test")
        code, _ = smtp.mail(sender)
        assert code == 250
        for recipient in recipients:
            smtp.rcpt(recipient)
        code, reply = smtp.data(raw)
    return code, reply.decode()


def queued_uuids(reply: str) -> list[str]:
    return reply.split("queued as ", 1)[1].split()


def final_row(gateway: Gateway, message_uuid: str, recipient: str, api: Any = None) -> Any:
    api = api or gateway.api

    def done() -> Any:
        row = api.row(message_uuid, recipient)
        return row if row and row["status"] not in ("processing", "temporary_error") else None

    return wait_for(done)


def test_accepted_message_is_stored_queued_delivered_and_searchable(gateway: Gateway) -> None:
    # Given a message for the demo tenant's domain
    subject = f"Quarterly report {uuid.uuid4().hex[:8]}"
    raw = message(subject, "<report-1@sender.test>")

    # When it is sent over SMTP
    code, reply = send(gateway, "alice@sender.test", ["someone@example.com"], raw)

    # Then the front answers 250 with the message UUID, the row is there at once …
    assert code == 250
    (message_uuid,) = queued_uuids(reply)
    assert gateway.api.row(message_uuid, "someone@example.com") is not None

    # … and the message reaches the demo tenant's mail server, byte for byte
    row = final_row(gateway, message_uuid, "someone@example.com")
    assert row["status"] == Status.DELIVERED
    assert row["delivered_to"] == "127.0.0.1"
    assert row["sender"] == "alice@sender.test"
    assert row["subject"] == subject
    assert row["message_id"] == "<report-1@sender.test>"
    assert row["header_from"] == ["Alice Example <alice@sender.test>"]
    assert row["sender_ip"] == "127.0.0.1"
    assert row["size_kb"] == round(len(raw) / 1024, 2)
    index = [
        json.loads(line) for line in (gateway.sink_dir / "index.jsonl").read_text().splitlines()
    ]
    kept = [
        entry
        for entry in index
        if subject.encode() in (gateway.sink_dir / entry["file"]).read_bytes()
    ]
    assert len(kept) == 1
    assert kept[0]["rcpt_tos"] == ["someone@example.com"]
    assert (gateway.sink_dir / kept[0]["file"]).read_bytes().endswith(b".dot line\r\n")

    # … the raw message is in S3 under the tenant's prefix
    objects = aws.client("s3").list_objects_v2(
        Bucket=resources.MAIL.local_name, Prefix="demo/mail/"
    )
    assert any(obj["Key"].endswith(f"{message_uuid}.eml") for obj in objects.get("Contents", []))

    # … and the detail shows the ordered timeline
    status, detail = gateway.api.detail(message_uuid, "someone@example.com")
    assert status == 200
    events = [event["event"] for event in detail["events"]]
    # stage 2 ran the default rules: virus, then the two spam rules; the engines found nothing
    assert events == ["received", "policy", "policy", "policy", "delivered"]
    assert [p["result"] for p in detail["processing"]["evaluated_policies"]] == ["no_match"] * 3
    assert detail["processing"]["delivery"]["status"] == "delivered"
    assert detail["processing"]["delivery"]["reply"].startswith("250")
    assert detail["summary"]["header_to"] == ["Someone <someone@example.com>"]


def test_row_expires_ninety_days_after_it_was_received(gateway: Gateway) -> None:
    _code, reply = send(gateway, "a@sender.test", ["ttl@example.com"], message("ttl"))
    (message_uuid,) = queued_uuids(reply)
    item = aws.table(resources.TRACKING.local_name).get_item(
        Key={"pk": f"demo#M#{message_uuid}", "sk": "R#ttl@example.com"}
    )["Item"]
    assert 90 * 86400 - 120 <= int(item["expires_at"]) - time.time() <= 90 * 86400


def test_recipient_of_a_domain_served_by_no_tenant_is_refused(gateway: Gateway) -> None:
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        smtp.ehlo("client.sender.test")
        smtp.mail("a@sender.test")
        code, reply = smtp.rcpt("someone@unknown-domain.test")
        assert code == 550
        assert b"5.7.1" in reply
        code, _ = smtp.rcpt("someone@example.com")
        assert code == 250


def test_transaction_with_no_accepted_recipient_stores_nothing(gateway: Gateway) -> None:
    before = aws.client("s3").list_objects_v2(Bucket=resources.MAIL.local_name).get("KeyCount", 0)
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        smtp.ehlo("client.sender.test")
        smtp.mail("a@sender.test")
        smtp.rcpt("x@unknown-domain.test")
        code, _ = smtp.docmd("DATA")
        assert code in (503, 554)
    after = aws.client("s3").list_objects_v2(Bucket=resources.MAIL.local_name).get("KeyCount", 0)
    assert after == before


def test_null_sender_is_accepted_and_shown_as_angle_brackets(gateway: Gateway) -> None:
    code, reply = send(gateway, "", ["bounce-target@example.com"], message("Undeliverable"))
    assert code == 250
    row = final_row(gateway, queued_uuids(reply)[0], "bounce-target@example.com")
    assert row["sender"] == "<>"
    assert row["status"] == Status.DELIVERED


def test_downstream_4xx_leaves_temporary_error_then_retry_delivers(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant whose mail server first answers 451
    api = gateway.add_tenant("flaky", "flaky.test", peer)
    peer.rcpt_replies = deque(["451 4.3.0 Try again later"])

    # When a message is sent to it
    _code, reply = send(gateway, "a@sender.test", ["user@flaky.test"], message("retry me"))
    (message_uuid,) = queued_uuids(reply)

    # Then the row first shows the temporary error with the downstream reply …
    def deferred() -> Any:
        row = api.row(message_uuid, "user@flaky.test")
        return row if row and row["status"] == Status.TEMPORARY_ERROR else None

    wait_for(deferred)
    # … and the retry delivers it
    row = final_row(gateway, message_uuid, "user@flaky.test", api)
    assert row["status"] == Status.DELIVERED
    assert len(peer.received) == 1
    status, detail = api.detail(message_uuid)
    assert status == 200
    events = [e for e in detail["events"] if e["event"] != "policy"]
    assert [e["event"] for e in events] == ["received", "deferred", "delivered"]
    assert "451" in events[1]["detail"]


def test_downstream_5xx_bounces_without_retry(gateway: Gateway, peer: ScriptedServer) -> None:
    api = gateway.add_tenant("strict", "strict.test", peer)
    peer.rcpt_replies = deque(["550 5.1.1 No such user"])
    _code, reply = send(gateway, "a@sender.test", ["gone@strict.test"], message("bounce me"))
    (message_uuid,) = queued_uuids(reply)
    row = final_row(gateway, message_uuid, "gone@strict.test", api)
    assert row["status"] == Status.BOUNCED
    _status, detail = api.detail(message_uuid)
    assert detail["processing"]["delivery"]["undelivered"] is True
    assert "550 5.1.1 No such user" in detail["processing"]["delivery"]["reply"]
    time.sleep(1.5)  # a retry, if one were wrongly queued, would run within the schedule's 1 s
    assert peer.received == []


def test_recipients_of_two_tenants_become_one_message_each(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    other = gateway.add_tenant("other", "other.test", peer)
    _code, reply = send(
        gateway, "a@sender.test", ["one@example.com", "two@other.test"], message("shared")
    )
    demo_uuid, other_uuid = queued_uuids(reply)
    assert final_row(gateway, demo_uuid, "one@example.com")["status"] == Status.DELIVERED
    assert final_row(gateway, other_uuid, "two@other.test", other)["status"] == Status.DELIVERED
    # Each tenant sees only its own message: the other's is "not found"
    assert gateway.api.detail(other_uuid)[0] == 404
    assert other.detail(demo_uuid)[0] == 404
    assert gateway.api.row(other_uuid, "two@other.test") is None
