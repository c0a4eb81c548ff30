"""Jobs that fail every run: the consumer marks their rows on the last receive, and a
dead-letter queue is summarized per reason."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from local.lambda_context import LocalContext
from local.sqs_runner import sqs_record
from mailgate.catalog import Direction, Status
from mailgate.dead_letters import (
    MALFORMED,
    UNRECORDED,
    DeadLetter,
    DeadLetterMarker,
    reason_of,
    summarize,
)
from mailgate.jobs import DeliverJob, DeliverRecord
from mailgate.queue_consumer import Failures, consume
from mailgate.records import TrackingRow
from tests.support.fakes import FakeTracking

TENANT = "tenant-a"
UUID = "3f1c2a9e-0000-4000-8000-000000000009"
QUEUE_ARN = "arn:aws:sqs:ap-northeast-1:000000000000:mailgate-deliver"
RECEIVED = datetime(2026, 1, 1, tzinfo=UTC)


def _row(recipient: str, status: Status = Status.PROCESSING) -> TrackingRow:
    return TrackingRow(
        tenant_id=TENANT,
        message_uuid=UUID,
        recipient=recipient,
        time=RECEIVED,
        direction=Direction.INBOUND,
        sender="alice@sender.example",
        sender_ip="192.0.2.1",
        status=status,
    )


def _job(*recipients: str) -> DeliverJob:
    return DeliverJob(
        tenant_id=TENANT,
        message_uuid=UUID,
        direction=Direction.INBOUND,
        mail_key="k",
        sender="alice@sender.example",
        recipients=list(recipients),
        received_at=RECEIVED,
        sender_ip="192.0.2.1",
    )


def _event(body: str, receives: int) -> dict[str, Any]:
    message = {
        "MessageId": "m-1",
        "ReceiptHandle": "r-1",
        "Body": body,
        "Attributes": {
            "ApproximateReceiveCount": str(receives),
            "ApproximateFirstReceiveTimestamp": "1",
            "SenderId": "AIDAEXAMPLE",
            "SentTimestamp": "1",
        },
    }
    return {"Records": [sqs_record(message, QUEUE_ARN, "ap-northeast-1")]}


class World:
    def __init__(self) -> None:
        self.tracking = FakeTracking(
            [_row("bob@example.com"), _row("carol@example.com", Status.DELIVERED)]
        )
        self.retried: list[tuple[str, int]] = []
        self.failures = Failures(
            max_receive_count=3,
            on_last=DeadLetterMarker(self.tracking, "deliver"),
            retry_later=lambda handle, delay: self.retried.append((handle, delay)),
            retry_s=5,
        )

    def consume(self, body: str, receives: int) -> None:
        """The job's run fails: the whole batch (this job) is received again."""

        def run(job: DeliverJob) -> None:
            raise KeyError("tenant-a/mail/missing.eml")

        with pytest.raises(BatchProcessingError):
            consume(
                _event(body, receives),
                LocalContext("deliver"),
                DeliverRecord,
                "deliver",
                run,
                self.failures,
            )

    def status(self, recipient: str) -> Status | None:
        return self.tracking.rows[TENANT, UUID, recipient].status


def test_a_failing_job_comes_back_after_its_delay_and_its_rows_are_untouched_before_the_last() -> (
    None
):
    w = World()
    body = _job("bob@example.com").model_dump_json()

    w.consume(body, receives=2)

    assert w.retried == [("r-1", 5)]
    assert w.status("bob@example.com") is Status.PROCESSING


def test_the_last_failing_run_marks_the_rows_dead_lettered_with_the_reason() -> None:
    w = World()
    body = _job("bob@example.com", "carol@example.com").model_dump_json()

    w.consume(body, receives=3)

    row = w.tracking.rows[TENANT, UUID, "bob@example.com"]
    assert row.status is Status.DEAD_LETTERED
    assert row.dead_letter_reason == "KeyError: 'tenant-a/mail/missing.eml'"
    # A final row is left as it is
    assert w.status("carol@example.com") is Status.DELIVERED
    [event] = [e for e in w.tracking.events[TENANT, UUID] if e.event == "dead_lettered"]
    assert (event.stage, event.recipient) == ("deliver", "bob@example.com")


def test_a_malformed_job_that_still_names_its_message_marks_its_rows() -> None:
    w = World()
    body = json.dumps(
        {"tenant_id": TENANT, "message_uuid": UUID, "recipients": ["bob@example.com"]}
    )

    w.consume(body, receives=3)

    row = w.tracking.rows[TENANT, UUID, "bob@example.com"]
    assert row.status is Status.DEAD_LETTERED
    assert row.dead_letter_reason.startswith(MALFORMED + ": ")


def test_a_body_that_names_nothing_marks_nothing() -> None:
    w = World()
    for body in ("not json", "[1]", json.dumps({"tenant_id": TENANT, "recipients": "bob"})):
        w.consume(body, receives=3)
    assert w.status("bob@example.com") is Status.PROCESSING


def test_a_reason_is_one_printable_line_of_bounded_length() -> None:
    reason = reason_of(RuntimeError("line one\nline two\x00" + "x" * 1000))

    assert reason.startswith("RuntimeError: line one line two")
    assert "\n" not in reason and "\x00" not in reason
    assert len(reason) == 300


def test_a_redriven_job_moves_the_row_on() -> None:
    w = World()
    w.consume(_job("bob@example.com").model_dump_json(), receives=3)

    assert w.tracking.set_status(TENANT, UUID, "bob@example.com", Status.TEMPORARY_ERROR)
    assert w.status("bob@example.com") is Status.TEMPORARY_ERROR


def _letter(body: str, minutes: int = 0) -> DeadLetter:
    return DeadLetter("id", body, 4, RECEIVED + timedelta(minutes=minutes))


def test_a_dead_letter_queue_is_counted_per_reason() -> None:
    w = World()
    w.consume(_job("bob@example.com").model_dump_json(), receives=3)
    other = _job("dave@example.com").model_copy(update={"message_uuid": "other"})

    summary = summarize(
        [
            _letter(_job("bob@example.com").model_dump_json(), 5),
            _letter(_job("bob@example.com").model_dump_json(), 3),
            _letter("{not a job", 9),
            _letter(other.model_dump_json(), 7),
        ],
        DeliverJob,
        w.tracking.rows_at,
    )

    assert summary.total == 4
    assert summary.by_reason == {
        "KeyError: 'tenant-a/mail/missing.eml'": 2,
        MALFORMED: 1,
        UNRECORDED: 1,
    }
    assert summary.oldest == RECEIVED + timedelta(minutes=3)


def test_an_empty_dead_letter_queue() -> None:
    summary = summarize([], DeliverJob, FakeTracking().rows_at)

    assert (summary.total, summary.by_reason, summary.oldest) == (0, {}, None)
