"""The messages a rule's monitor actions send: notifications (tokens replaced) and BCC copies."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from functions.scan.evidence.mime.model import Message
from mailgate.clock import utcnow
from mailgate.policy.rules import Notification, Rule


def visible_recipients(envelope_recipients: list[str], message: Message) -> list[str]:
    """Seed 001: ``%RCPTS%`` lists the envelope recipients that also appear in To or Cc, so a
    Bcc recipient stays hidden."""
    shown = {box.address.lower() for box in (*message.to, *message.cc) if box.address}
    return [r for r in envelope_recipients if r.lower() in shown]


def expand(template: str, *, sender: str, recipients: list[str], subject: str, rule: str) -> str:
    values = {
        "%SENDER%": sender or "<>",
        "%RCPTS%": ", ".join(recipients),
        "%SUBJECT%": subject,
        "%RULENAME%": rule,
    }
    for token, value in values.items():
        template = template.replace(token, value)
    return template


def targets(notification: Notification, sender: str, recipients: list[str]) -> list[str]:
    found: list[str] = []
    for target in notification.to:
        if target == "%SENDER%":
            found.extend([sender] if sender else [])
        elif target == "%RCPTS%":
            found.extend(recipients)
        else:
            found.append(target)
    return list(dict.fromkeys(found))


def notification(
    notice: Notification,
    rule: Rule,
    *,
    sender: str,
    envelope_recipients: list[str],
    message: Message,
    from_domain: str,
) -> tuple[list[str], bytes]:
    """The notification's recipients and its raw bytes."""
    shown = visible_recipients(envelope_recipients, message)

    def filled(template: str) -> str:
        return expand(
            template, sender=sender, recipients=shown, subject=message.subject, rule=rule.name
        )

    to = targets(notice, sender, envelope_recipients)
    mail = EmailMessage(policy=SMTP)
    mail["From"] = f"Mail gateway <postmaster@{from_domain}>"
    mail["To"] = ", ".join(to)
    mail["Subject"] = " ".join(filled(notice.subject).split())[:900]
    mail["Date"] = format_datetime(utcnow())
    mail["Message-ID"] = make_msgid(domain=from_domain)
    mail["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-reply to this
    mail.set_content(filled(notice.body))
    return to, mail.as_bytes()
