"""Quarantined messages written straight through the stores (raw mail, tracking rows,
quarantine entries), as stage 2 would have left them at a chosen time: an incident's window
lies in the past, which mail sent now cannot reach."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime, make_msgid

from mailgate import resources
from mailgate.catalog import Direction, Status, ThreatType
from mailgate.policy.records import QuarantineEntry
from mailgate.records import TrackingRow
from mailgate.storage.mail import MailStore, mail_key
from mailgate.storage.quarantine import QuarantineStore
from mailgate.storage.tracking import TrackingStore


@dataclass(frozen=True)
class Quarantined:
    tenant_id: str
    message_uuid: str
    recipient: str
    subject: str


class QuarantineSeed:
    def __init__(self) -> None:
        self.mail = MailStore(resources.MAIL.local_name)
        self.tracking = TrackingStore(resources.TRACKING.local_name)
        self.quarantine = QuarantineStore(resources.POLICY.local_name)

    def add(
        self,
        tenant_id: str,
        recipient: str,
        at: datetime,
        rule_id: str,
        rule_name: str,
        threat: ThreatType,
        subtype: str = "",
        subject: str | None = None,
        entry_only: bool = False,
    ) -> Quarantined:
        """``entry_only``: the quarantine entry alone, for a release that is not scanned."""
        message_uuid = str(uuid.uuid4())
        received = at - timedelta(seconds=5)
        subject = subject or f"newsletter {message_uuid[:8]}"
        raw = (
            f"From: Shop News <news@shop.test>\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
            f"Date: {format_datetime(received)}\r\nMessage-ID: {make_msgid()}\r\n"
            "\r\nThis week's offers.\r\n"
        ).encode()
        key = mail_key(tenant_id, message_uuid, received)
        if not entry_only:
            self._message(tenant_id, message_uuid, recipient, received, subject, key, raw)
        self.quarantine.put(
            QuarantineEntry(
                tenant_id=tenant_id,
                message_uuid=message_uuid,
                time=at,
                received_at=received,
                direction=Direction.INBOUND,
                sender="news@shop.test",
                recipients=[recipient],
                sender_ip="192.0.2.10",
                subject=subject,
                size=len(raw),
                rule_id=rule_id,
                rule_name=rule_name,
                threat_type=threat,
                subtype=subtype,
                mail_key=key,
            )
        )
        return Quarantined(tenant_id, message_uuid, recipient, subject)

    def _message(
        self,
        tenant_id: str,
        message_uuid: str,
        recipient: str,
        received: datetime,
        subject: str,
        key: str,
        raw: bytes,
    ) -> None:
        """The raw message and its tracking row, as the front and stage 2 left them."""
        self.mail.put(key, raw)
        self.tracking.add(
            [
                TrackingRow(
                    tenant_id=tenant_id,
                    message_uuid=message_uuid,
                    recipient=recipient,
                    time=received,
                    direction=Direction.INBOUND,
                    sender="news@shop.test",
                    sender_ip="192.0.2.10",
                    status=Status.QUARANTINED,
                    subject=subject,
                    size=len(raw),
                )
            ],
            [],
        )
