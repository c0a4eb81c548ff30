"""The delivery status notification, parsed back as a mail client or MTA would read it."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import Message

from functions.deliver.dsn import Failure, build, dsn_uuid, status_code
from mailgate.catalog import Status

RAW = (
    b"From: Alice <alice@sender.example>\r\n"
    b"To: bob@example.com\r\n"
    b"Subject: Quarterly report\r\n"
    b"Message-ID: <q1@sender.example>\r\n"
    b"\r\n"
    b"Confidential body text.\r\n"
)
NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
RECEIVED = datetime(2026, 1, 1, 0, 0, 0, tzinfo=UTC)


def report(failure: Failure, raw: bytes = RAW) -> Message:
    content = build(
        raw,
        original_sender="alice@sender.example",
        failure=failure,
        reporting_mta="gateway.test",
        received_at=RECEIVED,
        now=NOW,
        dsn_id="0000-dsn",
    )
    assert b"\r\n" in content and b"\n" not in content.replace(b"\r\n", b"")
    return message_from_bytes(content, policy=policy.default)


def parts(message: Message) -> list[Message]:
    payload = message.get_payload()
    assert isinstance(payload, list)
    return payload


def test_a_bounce_is_a_multipart_report_of_text_status_and_original_headers() -> None:
    message = report(
        Failure("bob@example.com", Status.BOUNCED, "550 5.1.1 No such user", "mx.example.com")
    )

    assert message.get_content_type() == "multipart/report"
    assert message.get_param("report-type") == "delivery-status"
    assert message["To"] == "alice@sender.example"
    assert message["From"] == "Mail Delivery System <MAILER-DAEMON@gateway.test>"
    assert message["Auto-Submitted"] == "auto-replied"
    assert message["Message-ID"] == "<0000-dsn@gateway.test>"
    text, status, headers = parts(message)
    assert text.get_content_type() == "text/plain"
    assert "bob@example.com" in text.get_content()
    assert "550 5.1.1 No such user" in text.get_content()
    assert status.get_content_type() == "message/delivery-status"
    per_message, per_recipient = parts(status)
    assert per_message["Reporting-MTA"] == "dns; gateway.test"
    assert per_recipient["Final-Recipient"] == "rfc822; bob@example.com"
    assert per_recipient["Action"] == "failed"
    assert per_recipient["Status"] == "5.1.1"
    assert per_recipient["Remote-MTA"] == "dns; mx.example.com"
    assert per_recipient["Diagnostic-Code"] == "smtp; 550 5.1.1 No such user"
    assert headers.get_content_type() == "text/rfc822-headers"
    returned = headers.get_content()
    assert "Subject: Quarterly report" in returned
    assert "Message-ID: <q1@sender.example>" in returned
    assert "Confidential body text" not in returned, "only the headers go back"


def test_an_expiry_reports_a_permanent_status_and_says_so() -> None:
    message = report(Failure("bob@example.com", Status.EXPIRED, "451 4.7.1 Greylisted"))

    text, status, _ = parts(message)
    assert "queue lifetime" in text.get_content()
    assert parts(status)[1]["Status"] == "5.7.1"
    assert message["Subject"] == "Delivery Status Notification (Delay expired)"


def test_a_reply_without_an_enhanced_code_gets_a_generic_one() -> None:
    assert status_code(Failure("b@x.example", Status.BOUNCED, "550 go away")) == "5.0.0"
    expired = Failure("b@x.example", Status.EXPIRED, "could not connect: refused")
    assert status_code(expired) == "4.4.7"
    assert report(expired)["Subject"].startswith("Delivery Status Notification")
    assert parts(parts(report(expired))[1])[1]["Diagnostic-Code"].startswith("X-mailgate; ")


def test_hostile_reply_and_header_bytes_cannot_inject_fields() -> None:
    raw = b"Subject: \xff\xfe bad\r\nX-Long: " + b"a" * 200_000 + b"\r\n\r\nbody"
    failure = Failure("bob@example.com", Status.BOUNCED, "550 5.1.1 x\r\nBcc: victim@evil.test")

    message = report(failure, raw)

    assert message["Bcc"] is None
    per_recipient = parts(parts(message)[1])[1]
    assert per_recipient["Bcc"] is None
    assert "\n" not in per_recipient["Diagnostic-Code"]
    assert len(parts(message)[2].get_content()) <= 64 * 1024


def test_the_dsn_id_is_the_same_for_the_same_recipient_event_only() -> None:
    first = dsn_uuid("m-1", "Bob@example.com", Status.BOUNCED)
    assert first == dsn_uuid("m-1", "bob@example.com", Status.BOUNCED)
    assert first != dsn_uuid("m-1", "bob@example.com", Status.EXPIRED)
    assert first != dsn_uuid("m-2", "bob@example.com", Status.BOUNCED)


def test_a_delay_warning_says_delayed_and_until_when_it_is_retried() -> None:
    until = datetime(2026, 1, 6, 0, 0, 0, tzinfo=UTC)
    content = build(
        RAW,
        original_sender="alice@sender.example",
        failure=Failure("bob@example.com", Status.TEMPORARY_ERROR, "451 4.7.1 Greylisted"),
        reporting_mta="gateway.test",
        received_at=RECEIVED,
        now=NOW,
        dsn_id="0000-dsn",
        retry_until=until,
    )
    message = message_from_bytes(content, policy=policy.default)

    assert message["Subject"] == "Delivery Status Notification (Delay)"
    text, status, _ = parts(message)
    assert "not been delivered yet" in text.get_content()
    _, per_recipient = parts(status)
    assert per_recipient["Action"] == "delayed"
    assert per_recipient["Status"] == "4.7.1"
    assert per_recipient["Will-Retry-Until"] == "Tue, 06 Jan 2026 00:00:00 +0000"
    assert b"Confidential body text" not in content
