"""Jobs that failed every run of their stage for a reason of ours (an error in the code, a
malformed job), not the destination's: how their rows are marked, and what an operator is told
of a dead-letter queue.

SQS moves a job to its queue's dead-letter queue once it has been received ``maxReceiveCount``
times. The run of the last receive knows it is the last: when it fails, it marks the job's rows
``dead_lettered`` with the reason (``DeadLetterMarker``), so no row waits in ``processing`` for a
job that sits in a dead-letter queue. A run that dies (timeout, crash) records nothing: its job
is counted under ``UNRECORDED`` and its rows stay as they were, where reconciliation finds them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ValidationError

from mailgate.catalog import Status
from mailgate.clock import utcnow
from mailgate.jobs import DeliverJob, ExportJob, Job, MessageJob, RedeliveryJob, ScanJob
from mailgate.ports import Tracking
from mailgate.records import TimelineEvent, TrackingRow

MALFORMED = "malformed job"
UNRECORDED = "no reason recorded (the run died: timeout or crash)"
MAX_REASON = 300
MAX_RECIPIENTS = 1000  # of a job body that did not parse: the most rows looked for
# The job each queue carries (by the id of its declaration in mailgate.resources).
JOB_MODELS: dict[str, type[Job]] = {
    "scan": ScanJob,
    "deliver": DeliverJob,
    "export": ExportJob,
    "redeliver": RedeliveryJob,
}

RowsAt = Callable[[str, Iterable[tuple[str, str]]], list[TrackingRow]]


def reason_of(error: BaseException) -> str:
    """The error as one printable line of at most ``MAX_REASON`` characters."""
    if isinstance(error, ValidationError) and error.error_count():
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        text = f"{MALFORMED}: {where} {first['msg']}"
    else:
        text = f"{type(error).__name__}: {error}"
    line = "".join(c if c.isprintable() else " " for c in " ".join(text.split()))
    return line[:MAX_REASON]


@dataclass(frozen=True)
class _MessageKeys:
    tenant_id: str
    message_uuid: str
    recipients: list[str]


def _message_keys(body: str) -> _MessageKeys | None:
    """Which rows a job body is about, read as leniently as it can be: a job that does not
    validate may still name its message."""
    try:
        fields: Any = json.loads(body)
    except ValueError:
        return None
    if not isinstance(fields, dict):
        return None
    tenant, message, recipients = (
        fields.get("tenant_id"),
        fields.get("message_uuid"),
        fields.get("recipients"),
    )
    if not (isinstance(tenant, str) and tenant and isinstance(message, str) and message):
        return None
    if not isinstance(recipients, list):
        return None
    named = [r for r in recipients[:MAX_RECIPIENTS] if isinstance(r, str) and r]
    return _MessageKeys(tenant, message, named)


class DeadLetterMarker:
    """Marks the rows of a job whose last run failed; ``stage`` names the stage in the
    timeline."""

    def __init__(self, tracking: Tracking, stage: str) -> None:
        self._tracking = tracking
        self._stage = stage

    def __call__(self, body: str, message_id: str, error: BaseException) -> None:
        keys = _message_keys(body)
        if keys is None:
            return
        reason = reason_of(error)
        for recipient in dict.fromkeys(keys.recipients):
            event = TimelineEvent(
                time=utcnow(),
                # One event per dead-lettering: a job redriven and dead-lettered again is a new
                # SQS message, so a new event.
                event_id=f"x-dead-lettered-{self._stage}-{message_id}-{recipient.lower()}",
                stage=self._stage,
                event="dead_lettered",
                recipient=recipient,
                detail=reason,
            )
            self._tracking.dead_letter(keys.tenant_id, keys.message_uuid, recipient, event)


@dataclass(frozen=True)
class DeadLetter:
    """A job in a dead-letter queue."""

    message_id: str
    body: str
    receive_count: int
    sent_at: datetime  # when it was first sent to its source queue


@dataclass(frozen=True)
class DeadLetterSummary:
    total: int
    by_reason: dict[str, int]  # most frequent first
    oldest: datetime | None  # the first sending of the oldest job


def _reason(letter: DeadLetter, job_model: type[Job], rows_at: RowsAt) -> str:
    try:
        job: BaseModel = job_model.model_validate_json(letter.body)
    except ValidationError:
        return MALFORMED
    if not isinstance(job, MessageJob):
        return UNRECORDED
    rows = rows_at(job.tenant_id, [(job.message_uuid, r) for r in job.recipients])
    reasons = sorted(
        {r.dead_letter_reason for r in rows if r.status is Status.DEAD_LETTERED} - {""}
    )
    return reasons[0] if reasons else UNRECORDED


def summarize(
    letters: Iterable[DeadLetter], job_model: type[Job], rows_at: RowsAt
) -> DeadLetterSummary:
    """How many jobs a dead-letter queue holds, per reason: the reason its rows record, or
    ``MALFORMED`` / ``UNRECORDED``."""
    letters = list(letters)
    counts = Counter(_reason(letter, job_model, rows_at) for letter in letters)
    return DeadLetterSummary(
        total=len(letters),
        by_reason=dict(counts.most_common()),
        oldest=min((letter.sent_at for letter in letters), default=None),
    )
