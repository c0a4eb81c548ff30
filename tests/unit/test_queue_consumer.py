"""The shared SQS consumer: each record is parsed into its job and run; a record that does not
parse or whose run raises is a batch item failure (received again, then dead-lettered)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from local.lambda_context import LocalContext
from local.sqs_runner import sqs_record
from mailgate.catalog import Direction
from mailgate.jobs import ScanJob, ScanRecord
from mailgate.observability import logger
from mailgate.queue_consumer import consume

QUEUE_ARN = "arn:aws:sqs:ap-northeast-1:000000000000:mailgate-scan"


def _job(message_uuid: str) -> ScanJob:
    return ScanJob(
        tenant_id="tenant-a",
        message_uuid=message_uuid,
        direction=Direction.INBOUND,
        mail_key=f"tenant-a/mail/{message_uuid}.eml",
        sender="alice@sender.example",
        recipients=["bob@example.com"],
        received_at=datetime(2025, 6, 15, 9, 0, tzinfo=UTC),
        sender_ip="192.0.2.1",
    )


def _event(*bodies: str) -> dict[str, Any]:
    messages = [
        {
            "MessageId": f"m{number}",
            "ReceiptHandle": f"r{number}",
            "Body": body,
            "Attributes": {
                "ApproximateReceiveCount": "1",
                "ApproximateFirstReceiveTimestamp": "1749978000000",
                "SenderId": "AIDAEXAMPLE",
                "SentTimestamp": "1749978000000",
            },
        }
        for number, body in enumerate(bodies)
    ]
    return {"Records": [sqs_record(m, QUEUE_ARN, "ap-northeast-1") for m in messages]}


def _failed(response: Any) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def test_each_job_is_run_with_its_log_keys() -> None:
    # Given two valid jobs
    event = _event(_job("u1").model_dump_json(), _job("u2").model_dump_json())
    ran: list[ScanJob] = []
    keys: list[dict[str, Any]] = []

    def run(job: ScanJob) -> None:
        ran.append(job)
        keys.append(logger.thread_safe_get_current_keys())

    # When the batch is consumed
    response = consume(event, LocalContext("scan"), ScanRecord, "scan", run)

    # Then both ran, none failed, and each logged under its tenant, message and stage
    assert [job.message_uuid for job in ran] == ["u1", "u2"]
    assert _failed(response) == []
    assert [(k["tenant"], k["message_uuid"], k["stage"]) for k in keys] == [
        ("tenant-a", "u1", "scan"),
        ("tenant-a", "u2", "scan"),
    ]


@pytest.mark.parametrize(
    "bad_body",
    ["not json", json.dumps({"tenant_id": "tenant-a"}), "[]"],
    ids=["not-json", "missing-fields", "not-an-object"],
)
def test_a_record_that_does_not_parse_fails_alone(bad_body: str) -> None:
    event = _event(bad_body, _job("u2").model_dump_json())
    ran: list[str] = []

    response = consume(
        event, LocalContext("scan"), ScanRecord, "scan", lambda job: ran.append(job.message_uuid)
    )

    assert _failed(response) == ["m0"]
    assert ran == ["u2"]


def test_a_job_whose_run_raises_fails_alone() -> None:
    event = _event(_job("u1").model_dump_json(), _job("u2").model_dump_json())

    def run(job: ScanJob) -> None:
        if job.message_uuid == "u1":
            raise RuntimeError("table unavailable")

    response = consume(event, LocalContext("scan"), ScanRecord, "scan", run)

    assert _failed(response) == ["m0"]
