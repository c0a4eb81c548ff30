"""Jobs between stages, as SQS messages with a JSON body."""

from __future__ import annotations

from pydantic import BaseModel

from mailgate import aws

MAX_DELAY_S = 900  # SQS's limit on DelaySeconds


class JobQueue:
    def __init__(self, url: str) -> None:
        self._url = url

    def send(self, job: BaseModel, delay_s: int = 0) -> None:
        aws.client("sqs").send_message(
            QueueUrl=self._url,
            MessageBody=job.model_dump_json(),
            DelaySeconds=max(0, min(delay_s, MAX_DELAY_S)),
        )

    def waiting(self, in_flight: bool = True) -> int:
        """Jobs waiting for a worker, and with ``in_flight`` those a worker holds (SQS's
        approximate counts; delayed jobs are not counted)."""
        names = ["ApproximateNumberOfMessages"]
        if in_flight:
            names.append("ApproximateNumberOfMessagesNotVisible")
        attributes = aws.client("sqs").get_queue_attributes(
            QueueUrl=self._url, AttributeNames=names
        )["Attributes"]
        return sum(int(attributes.get(name, 0)) for name in names)

    def retry_later(self, receipt_handle: str, delay_s: int) -> None:
        """A received job comes back after ``delay_s`` instead of the queue's visibility
        timeout."""
        aws.client("sqs").change_message_visibility(
            QueueUrl=self._url, ReceiptHandle=receipt_handle, VisibilityTimeout=delay_s
        )
