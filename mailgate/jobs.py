"""The jobs that carry a message from one stage to the next, and the SQS records that carry
the jobs (parsed by the queue consumer)."""

from __future__ import annotations

from datetime import datetime
from typing import Generic, TypeVar

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from mailgate.catalog import Direction
from mailgate.tenant_config import MailServer


class MessageJob(BaseModel):
    tenant_id: str
    message_uuid: str
    direction: Direction
    mail_key: str
    sender: str
    recipients: list[str]
    received_at: datetime
    sender_ip: str
    helo: str = ""  # what the client said in HELO/EHLO (SPF checks it for the null sender)
    # The API key name of the administrator who released the message from quarantine.
    released_by: str | None = None


class ScanJob(MessageJob):
    # A release from quarantine: stage 2 goes on with the rules after this one (by id).
    resume_after_rule: str | None = None


class DeliverJob(MessageJob):
    attempt: int = 1
    # A stage-2 "deliver now" action: this server instead of the usual route.
    deliver_to: MailServer | None = None
    # SQS delays a message by at most 15 minutes; a later retry is re-queued until due.
    not_before: datetime | None = None


J = TypeVar("J", bound=MessageJob)


class JobRecord(SqsRecordModel, Generic[J]):
    body: Json[J]


class ScanRecord(JobRecord[ScanJob]):
    pass


class DeliverRecord(JobRecord[DeliverJob]):
    pass
