"""Feeds a Lambda handler the SQS event batches AWS's event source mapping would.

As in AWS, one poller receives from the queue and up to ``max_concurrency`` invocations run at
once, each on a batch of at most ``batch_size`` records. The poller receives only as many
records as its free invocation slots can take (up to SQS's 10 per receive, split into batches),
so a queue never has more records in flight than it can work on, a backlog is taken ten at a
time even when batches are smaller, and a slow invocation holds only its own batch. There is no
batching window: the poller hands over whatever one receive returns (AWS's default for
standard queues), since locally there is no per-invocation cost to save by waiting.

Records the handler reports in ``batchItemFailures`` (or all, if it raises) stay on the queue
and come back after the visibility timeout, until the redrive policy moves them to the DLQ.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from local.lambda_context import LocalContext
from mailgate import aws

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
MAX_BATCH_SIZE = 10  # SQS's limit on messages per receive
POLL_WAIT_S = 1  # short enough for ``stop`` to be prompt


@dataclass(frozen=True)
class Scaling:
    """The event source mapping's knobs: records per invocation, invocations at once."""

    batch_size: int
    max_concurrency: int


def sqs_record(message: dict[str, Any], queue_arn: str, region: str) -> dict[str, Any]:
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": hashlib.md5(message["Body"].encode()).hexdigest(),  # noqa: S324
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": region,
    }


class QueueRunner:
    def __init__(
        self, name: str, queue_url: str, region: str, handler: Handler, scaling: Scaling
    ) -> None:
        self._name = name
        self._url = queue_url
        self._region = region
        self._handler = handler
        self._batch_size = scaling.batch_size
        self._slots = threading.BoundedSemaphore(scaling.max_concurrency)
        self._invocations = ThreadPoolExecutor(
            max_workers=scaling.max_concurrency, thread_name_prefix=f"lambda-{name}"
        )
        self._stopping = threading.Event()
        self._poller = threading.Thread(target=self._poll, name=f"sqs-{name}", daemon=True)

    def start(self) -> None:
        self._poller.start()

    def stop(self) -> None:
        """Stop receiving, then let the invocations in flight finish."""
        self._stopping.set()
        self._poller.join()
        self._invocations.shutdown(wait=True)

    def _poll(self) -> None:
        sqs = aws.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        while not self._stopping.is_set():
            if not self._slots.acquire(timeout=POLL_WAIT_S):
                continue  # every invocation is busy
            slots = 1 + self._more_slots()
            try:
                messages = self._receive(sqs, min(MAX_BATCH_SIZE, slots * self._batch_size))
            except Exception:
                messages = []
                log.exception("queue runner %s could not receive; polling again", self._name)
                self._stopping.wait(1.0)
            for start in range(0, len(messages), self._batch_size):
                self._invocations.submit(
                    self._invoke, sqs, arn, messages[start : start + self._batch_size]
                )
                slots -= 1
            for _ in range(slots):
                self._slots.release()

    def _more_slots(self) -> int:
        """Takes the free slots that one receive can fill, beside the one already taken."""
        wanted = -(-MAX_BATCH_SIZE // self._batch_size) - 1
        taken = 0
        while taken < wanted and self._slots.acquire(blocking=False):
            taken += 1
        return taken

    def _receive(self, sqs: Any, count: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=POLL_WAIT_S,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        return messages

    def _invoke(self, sqs: Any, arn: str, messages: list[dict[str, Any]]) -> None:
        try:
            self._run_batch(sqs, arn, messages)
        except Exception:
            log.exception("queue runner %s could not finish a batch", self._name)
        finally:
            self._slots.release()

    def _run_batch(self, sqs: Any, arn: str, messages: list[dict[str, Any]]) -> None:
        event = {"Records": [sqs_record(m, arn, self._region) for m in messages]}
        try:
            result = self._handler(event, LocalContext(function_name=self._name))
        except Exception:
            log.exception("%s handler raised; the batch will be received again", self._name)
            return
        failed = {item["itemIdentifier"] for item in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(done)
                ],
            )
