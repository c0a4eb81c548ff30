"""The jobs that carry a message from one stage to the next."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from mailgate.catalog import Direction


class MessageJob(BaseModel):
    tenant_id: str
    message_uuid: str
    direction: Direction
    mail_key: str
    sender: str
    recipients: list[str]
    received_at: datetime
    sender_ip: str


class ScanJob(MessageJob):
    pass


class DeliverJob(MessageJob):
    attempt: int = 1
    # SQS delays a message by at most 15 minutes; a later retry is re-queued until due.
    not_before: datetime | None = None
