"""Feeds a Lambda handler the SQS event batches AWS's event source mapping would.

Records the handler reports in ``batchItemFailures`` (or all, if it raises) stay on the queue
and come back after the visibility timeout, until the redrive policy moves them to the DLQ.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from typing import Any

from local.lambda_context import LocalContext
from mailgate import aws

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
BATCH_SIZE = 10


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
    def __init__(self, name: str, queue_url: str, region: str, handler: Handler) -> None:
        self._name = name
        self._url = queue_url
        self._region = region
        self._handler = handler
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sqs-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()

    def _run(self) -> None:
        sqs = aws.client("sqs")
        arn = sqs.get_queue_attributes(QueueUrl=self._url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        while not self._stopping.is_set():
            try:
                self._poll_once(sqs, arn)
            except Exception:
                log.exception("queue runner %s failed; polling again", self._name)
                self._stopping.wait(1.0)

    def _poll_once(self, sqs: Any, arn: str) -> None:
        messages = sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=BATCH_SIZE,
            WaitTimeSeconds=1,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        ).get("Messages", [])
        if not messages:
            return
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
