"""A queue's dead-letter queue: reading what it holds, and redriving it to its source queue.

The dead-letter queue is found from the source queue's redrive policy, so a caller needs only
the source queue's URL (a stack output in AWS, the bootstrap's in the local runtime).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from mailgate import aws
from mailgate.dead_letters import DeadLetter

MAX_BATCH = 10  # SQS's limit per receive, send batch and delete batch
# How long a read holds the jobs it has seen (then hands them back at once): long enough for
# a read of the whole queue, so no job is counted twice.
HOLD_S = 60


def _letter(message: dict[str, Any]) -> DeadLetter:
    attributes = message.get("Attributes", {})
    sent_ms = int(attributes.get("SentTimestamp", "0"))
    return DeadLetter(
        message_id=message["MessageId"],
        body=message["Body"],
        receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        sent_at=datetime.fromtimestamp(sent_ms / 1000, UTC),
    )


class DeadLetterQueue:
    def __init__(self, source_url: str) -> None:
        sqs = aws.client("sqs")
        self.source_url = source_url
        policy = sqs.get_queue_attributes(QueueUrl=source_url, AttributeNames=["RedrivePolicy"])[
            "Attributes"
        ].get("RedrivePolicy")
        if not policy:
            raise ValueError(f"the queue {source_url} has no dead-letter queue")
        arn = json.loads(policy)["deadLetterTargetArn"]
        _, _, _, _, account, name = arn.split(":", 5)
        self.url: str = sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)[
            "QueueUrl"
        ]

    def letters(self, limit: int = 10_000) -> list[DeadLetter]:
        """Up to ``limit`` jobs of the dead-letter queue, each once; they stay in it."""
        sqs = aws.client("sqs")
        held: list[dict[str, Any]] = []
        try:
            while len(held) < limit:
                batch = self._receive(min(MAX_BATCH, limit - len(held)), HOLD_S)
                if not batch:
                    break
                held.extend(batch)
        finally:
            for start in range(0, len(held), MAX_BATCH):
                sqs.change_message_visibility_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                        for n, m in enumerate(held[start : start + MAX_BATCH])
                    ],
                )
        return [_letter(message) for message in held]

    def redrive(self, limit: int | None = None) -> int:
        """Move up to ``limit`` jobs (all, with None) back to the source queue, as new messages
        (their receive counts start again); returns how many were moved. A job is deleted from
        the dead-letter queue only once the source queue has it: a failure in between leaves a
        copy in both, which the stages' idempotence absorbs."""
        sqs = aws.client("sqs")
        moved = 0
        while limit is None or moved < limit:
            count = MAX_BATCH if limit is None else min(MAX_BATCH, limit - moved)
            batch = self._receive(count, HOLD_S)
            if not batch:
                return moved
            sent = sqs.send_message_batch(
                QueueUrl=self.source_url,
                Entries=[{"Id": str(n), "MessageBody": m["Body"]} for n, m in enumerate(batch)],
            )
            done = [batch[int(entry["Id"])] for entry in sent.get("Successful", [])]
            if done:
                sqs.delete_message_batch(
                    QueueUrl=self.url,
                    Entries=[
                        {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]}
                        for n, m in enumerate(done)
                    ],
                )
            moved += len(done)
            if len(done) < len(batch):
                failed = sent.get("Failed", [])
                raise RuntimeError(f"the source queue refused {len(failed)} jobs: {failed[:1]}")
        return moved

    def _receive(self, count: int, hold_s: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = (
            aws.client("sqs")
            .receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=count,
                VisibilityTimeout=hold_s,
                WaitTimeSeconds=1,  # a long poll asks every SQS server: empty means empty
                AttributeNames=["All"],
            )
            .get("Messages", [])
        )
        return messages
