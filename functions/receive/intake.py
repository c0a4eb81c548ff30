"""Stage 1 hand-off: a message the front accepts is stored, queued and recorded before "250".

A transaction whose recipients belong to several tenants becomes one message per tenant, each
with its own UUID, S3 object (under the tenant's prefix), rows and scan job.

The scan job is the commit point: the S3 object before it, the rows after it. A front that dies
between two steps leaves either an object no job names (expired by the bucket's lifecycle) or a
job whose rows scan writes itself (``functions/scan/stage.py``) — never rows in ``processing``
that no job will move.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from mailgate.clock import utcnow
from mailgate.jobs import ScanJob
from mailgate.message_summary import Summary, summarize
from mailgate.peer import Peer
from mailgate.ports import Jobs, Mail, Tracking
from mailgate.records import TimelineEvent, TrackingRow
from mailgate.storage.mail import mail_key

log = logging.getLogger(__name__)


class HandOffFailed(Exception):
    """Storage or queue refused the message; the client must be told to retry (4xx)."""


@dataclass(frozen=True)
class Message:
    peer: Peer
    sender: str  # "" for the null sender
    raw: bytes


@dataclass(frozen=True)
class Accepted:
    tenant_id: str
    message_uuid: str
    recipients: list[str]


class Intake:
    def __init__(
        self,
        mail: Mail,
        tracking: Tracking,
        scan_queue: Jobs,
    ) -> None:
        self._mail = mail
        self._tracking = tracking
        self._scan_queue = scan_queue

    def accept(
        self, message: Message, recipients_by_tenant: dict[str, list[str]]
    ) -> list[Accepted]:
        received = utcnow()
        summary = summarize(message.raw)
        accepted: list[Accepted] = []
        for tenant_id, recipients in recipients_by_tenant.items():
            message_uuid = str(uuid.uuid4())
            self._hand_off(message, tenant_id, message_uuid, recipients, received, summary)
            accepted.append(Accepted(tenant_id, message_uuid, recipients))
        return accepted

    def _hand_off(
        self,
        message: Message,
        tenant_id: str,
        message_uuid: str,
        recipients: list[str],
        received: datetime,
        summary: Summary,
    ) -> None:
        key = mail_key(tenant_id, message_uuid, received)
        rows = [
            TrackingRow.accepted(
                message.peer,
                tenant_id=tenant_id,
                message_uuid=message_uuid,
                recipient=recipient,
                time=received,
                sender=message.sender,
                size=len(message.raw),
                mail_key=key,
                summary=summary,
            )
            for recipient in recipients
        ]
        job = ScanJob(
            tenant_id=tenant_id,
            message_uuid=message_uuid,
            direction=message.peer.direction,
            mail_key=key,
            sender=message.sender,
            recipients=recipients,
            received_at=received,
            sender_ip=message.peer.ip,
            helo=message.peer.helo,
            upstream_tls=message.peer.tls,
        )
        try:
            self._mail.put(key, message.raw)
            self._scan_queue.send(job)
        except Exception as error:
            log.exception(
                "hand-off failed", extra={"tenant": tenant_id, "message_uuid": message_uuid}
            )
            self._undo(tenant_id, message_uuid, key)
            raise HandOffFailed(str(error)) from error
        try:
            self._tracking.add(rows, [TimelineEvent.received(message.peer, received)])
        except Exception:  # the message is committed: scan writes the rows in our stead
            log.exception(
                "rows not written; scan will write them",
                extra={"tenant": tenant_id, "message_uuid": message_uuid},
            )

    def _undo(self, tenant_id: str, message_uuid: str, key: str) -> None:
        try:
            self._mail.delete(key)
        except Exception:
            log.exception(
                "could not undo a failed hand-off",
                extra={"tenant": tenant_id, "message_uuid": message_uuid},
            )
