"""Messages the gateway writes itself — rule notifications, BCC copies — stored, tracked and
queued for delivery like accepted mail.

Each gets a message uuid derived from its cause, so a step that runs twice originates it once:
each row is written only if it does not exist, and the delivery job is sent again while the rows
are not final (delivery skips final recipients).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass

from mailgate.catalog import FINAL_STATUSES, Direction
from mailgate.clock import utcnow
from mailgate.jobs import DeliverJob
from mailgate.message_summary import summarize
from mailgate.ports import Domains, Jobs, Mail, Tracking
from mailgate.records import TimelineEvent, TrackingRow
from mailgate.storage.mail import mail_key

_NAMESPACE = uuid.UUID("5b0f4f4e-9d1e-4c55-9d43-4f1d2b8a6c10")


def derived_uuid(message_uuid: str, cause: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{message_uuid}/{cause}"))


@dataclass(frozen=True)
class Originated:
    tenant_id: str
    message_uuid: str
    sender: str  # "" for the null sender
    recipients: list[str]
    raw: bytes
    cause: str  # the timeline's first line: why the gateway wrote this message
    refers_to: str = ""  # the Message-ID of the message it was written about


class Originator:
    def __init__(self, mail: Mail, tracking: Tracking, deliver_queue: Jobs, domains: Domains):
        self._mail = mail
        self._tracking = tracking
        self._deliver_queue = deliver_queue
        self._domains = domains

    def send(self, message: Originated) -> None:
        """Recipients of the tenant's own domains go inbound (to its servers), others outbound;
        each direction is its own tracked message."""
        by_direction: dict[Direction, list[str]] = defaultdict(list)
        for recipient in dict.fromkeys(message.recipients):
            domain = self._domains.domain(recipient.rpartition("@")[2].lower())
            own = domain is not None and domain.tenant_id == message.tenant_id
            by_direction[Direction.INBOUND if own else Direction.OUTBOUND].append(recipient)
        for direction, recipients in by_direction.items():
            message_uuid = (
                message.message_uuid
                if len(by_direction) == 1
                else derived_uuid(message.message_uuid, direction)
            )
            self._send(message, message_uuid, direction, recipients)

    def _send(
        self, message: Originated, message_uuid: str, direction: Direction, recipients: list[str]
    ) -> None:
        statuses = self._tracking.statuses(message.tenant_id, message_uuid, recipients)
        if statuses and all(status in FINAL_STATUSES for status in statuses.values()):
            return
        now = utcnow()
        key = mail_key(message.tenant_id, message_uuid, now)
        if not statuses:
            self._mail.put(key, message.raw)
            summary = summarize(message.raw)
            event = TimelineEvent(
                time=now,
                event_id="0-originated",
                stage="receive",
                event="originated",
                detail=message.cause,
            )
            for recipient in recipients:
                row = TrackingRow(
                    tenant_id=message.tenant_id,
                    message_uuid=message_uuid,
                    recipient=recipient,
                    time=now,
                    direction=direction,
                    sender=message.sender,
                    sender_ip="",
                    size=len(message.raw),
                    mail_key=key,
                    refers_to=message.refers_to,
                    **summary.model_dump(),
                )
                self._tracking.add_once(row, [event])
        else:
            rows, _ = self._tracking.message(message.tenant_id, message_uuid)
            key, now = rows[0].mail_key, rows[0].time
        self._deliver_queue.send(
            DeliverJob(
                tenant_id=message.tenant_id,
                message_uuid=message_uuid,
                direction=direction,
                mail_key=key,
                sender=message.sender,
                recipients=recipients,
                received_at=now,
                sender_ip="",
            )
        )
