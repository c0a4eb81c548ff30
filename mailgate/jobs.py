"""The jobs on the gateway's queues (a message from one stage to the next, an export task), and
the SQS records that carry them (parsed by the queue consumer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import BaseModel, Json

from mailgate.catalog import Direction, Locale
from mailgate.tenant_config import MailServer


class Job(BaseModel):
    tenant_id: str

    def log_keys(self) -> dict[str, str]:
        """What each log line of the job's run carries besides the stage."""
        return {"tenant": self.tenant_id}


class MessageJob(Job):
    message_uuid: str
    direction: Direction
    mail_key: str
    sender: str
    recipients: list[str]
    received_at: datetime
    sender_ip: str
    helo: str = ""  # what the client said in HELO/EHLO (SPF checks it for the null sender)
    upstream_tls: str = "none"  # the TLS of the client's session, for rows scan writes itself
    # The API key name of the administrator who released the message from quarantine.
    released_by: str | None = None

    def log_keys(self) -> dict[str, str]:
        return {"tenant": self.tenant_id, "message_uuid": self.message_uuid}


class ScanJob(MessageJob):
    # A release from quarantine: stage 2 goes on with the rules after this one (by id).
    resume_after_rule: str | None = None


class DeliverJob(MessageJob):
    attempt: int = 1
    # A stage-2 "deliver now" action: this server instead of the usual route.
    deliver_to: MailServer | None = None
    # SQS delays a message by at most 15 minutes; a later retry is re-queued until due.
    not_before: datetime | None = None
    # The sender was warned that these recipients are delayed (one warning per recipient).
    delay_warned: bool = False


J = TypeVar("J", bound=Job)


class JobRecord(SqsRecordModel, Generic[J]):
    body: Json[J]


class ScanRecord(JobRecord[ScanJob]):
    pass


class DeliverRecord(JobRecord[DeliverJob]):
    pass


class ExportJob(Job):
    """Run one "export all" task: the stored task says what and how."""

    task_id: str
    created_at: datetime
    query: dict[str, Any]  # a TrackingSearch or EventSearch as JSON (the task's log says which)
    period_start: datetime  # the period, resolved when the task was asked for
    period_end: datetime
    locale: Locale
    time_zone: str

    def log_keys(self) -> dict[str, str]:
        return {"tenant": self.tenant_id, "task_id": self.task_id}


class ExportRecord(JobRecord[ExportJob]):
    pass


class RedeliveryJob(Job):
    """Release these quarantined messages of one tenant, for an operator's re-delivery run."""

    run_id: str
    message_uuids: list[str]
    released_by: str  # the operator: tracking shows "delivered by administrator <name>"
    rate_per_s: int  # the most releases per second for the tenant, across every worker

    def log_keys(self) -> dict[str, str]:
        return {"tenant": self.tenant_id, "run_id": self.run_id}


class RedeliveryRecord(JobRecord[RedeliveryJob]):
    pass
