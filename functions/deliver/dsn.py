"""Delivery status notifications (RFC 3464): the report a sender gets when a recipient bounced
or expired (Action: failed) or is still being retried (Action: delayed, the delay warning), as
a multipart/report of a readable text, the machine-readable delivery status and the original
message's headers (RFC 6522)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime

from mailgate.catalog import Status

MAX_HEADERS = 64 * 1024  # the original header block returned, at most
_NAMESPACE = uuid.UUID("6c1d6f0e-8a52-4c1b-9d3e-1f0b7d2a4e55")


@dataclass(frozen=True)
class Failure:
    """One recipient's final failure: ``reply`` is the downstream reply (or ours)."""

    recipient: str
    status: Status  # bounced or expired; temporary_error: a delay warning
    reply: str
    remote_mta: str = ""  # the server's name, when one answered


def dsn_uuid(message_uuid: str, recipient: str, status: Status) -> str:
    """The same recipient event always gives the same DSN: a repeated step reports it once."""
    return str(uuid.uuid5(_NAMESPACE, f"{message_uuid}/{recipient.lower()}/{status.value}"))


def status_code(failure: Failure) -> str:
    """The enhanced status code (RFC 3463) of the reply, or a generic one."""
    words = failure.reply.split()
    for word in words[1:3] if words and words[0].isdigit() else words[:1]:
        parts = word.split(".")
        if len(parts) == 3 and parts[0] in ("4", "5") and all(p.isdigit() for p in parts[1:]):
            return "5" + word[1:] if failure.status is Status.EXPIRED else word
    return {Status.EXPIRED: "4.4.7", Status.TEMPORARY_ERROR: "4.0.0"}.get(failure.status, "5.0.0")


def _header_block(raw: bytes) -> str:
    end = min((i for i in (raw.find(b"\r\n\r\n"), raw.find(b"\n\n")) if i >= 0), default=len(raw))
    return raw[: min(end, MAX_HEADERS)].decode("utf-8", "replace")


def _field_text(value: str) -> str:
    """A header value from untrusted text: one line, printable ASCII."""
    return "".join(c if " " <= c <= "~" else "?" for c in " ".join(value.split()))[:900]


def build(
    raw: bytes,
    *,
    original_sender: str,
    failure: Failure,
    reporting_mta: str,
    received_at: datetime,
    now: datetime,
    dsn_id: str,
    retry_until: datetime | None = None,
) -> bytes:
    """``retry_until``: when the queue lifetime ends (a delay warning says so)."""
    expired = failure.status is Status.EXPIRED
    delayed = failure.status is Status.TEMPORARY_ERROR
    report = MIMEMultipart("report", report_type="delivery-status")
    report["From"] = f"Mail Delivery System <MAILER-DAEMON@{reporting_mta}>"
    report["To"] = _field_text(original_sender)
    if delayed:
        report["Subject"] = "Delivery Status Notification (Delay)"
    elif expired:
        report["Subject"] = "Delivery Status Notification (Delay expired)"
    else:
        report["Subject"] = "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(now)
    report["Message-ID"] = f"<{dsn_id}@{reporting_mta}>"
    report["Auto-Submitted"] = "auto-replied"  # RFC 3834: never answered automatically
    if delayed:
        why = "has not been delivered yet; delivery will be tried again"
        if retry_until is not None:
            why += f" until {format_datetime(retry_until)}"
        why += ". You do not need to send it again"
    elif expired:
        why = "could not be delivered before the queue lifetime ended"
    else:
        why = "was refused by the recipient's server"
    report.attach(
        MIMEText(
            f"This is the mail system at {reporting_mta}.\n\n"
            f"Your message to {_field_text(failure.recipient)} {why}.\n\n"
            f"The last reply was: {_field_text(failure.reply)}\n",
            "plain",
            "utf-8",
        )
    )
    per_message = Message()
    per_message["Reporting-MTA"] = f"dns; {reporting_mta}"
    per_message["Arrival-Date"] = format_datetime(received_at)
    per_recipient = Message()
    per_recipient["Final-Recipient"] = f"rfc822; {_field_text(failure.recipient)}"
    per_recipient["Action"] = "delayed" if delayed else "failed"
    per_recipient["Status"] = status_code(failure)
    if failure.remote_mta:
        per_recipient["Remote-MTA"] = f"dns; {_field_text(failure.remote_mta)}"
    if failure.reply[:1].isdigit():
        per_recipient["Diagnostic-Code"] = f"smtp; {_field_text(failure.reply)}"
    else:
        per_recipient["Diagnostic-Code"] = f"X-mailgate; {_field_text(failure.reply)}"
    per_recipient["Last-Attempt-Date"] = format_datetime(now)
    if delayed and retry_until is not None:
        per_recipient["Will-Retry-Until"] = format_datetime(retry_until)
    status = MIMEBase("message", "delivery-status")
    status.set_payload([per_message, per_recipient])
    report.attach(status)
    report.attach(MIMEText(_header_block(raw), "rfc822-headers", "utf-8"))
    return report.as_bytes(policy=report.policy.clone(linesep="\r\n"))
