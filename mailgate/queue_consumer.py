"""One way to consume an SQS batch: each record is parsed into its job and run on its own.

A record that fails, whether its body does not parse or its run raises, is reported as a batch
item failure: SQS receives it again until the redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailgate.jobs import J, JobRecord
from mailgate.observability import logger


def consume(
    event: dict[str, Any],
    context: LambdaContext,
    record_model: type[JobRecord[J]],
    stage: str,
    run: Callable[[J], None],
) -> PartialItemFailureResponse:
    def _one(record: JobRecord[J]) -> None:
        job = record.body
        logger.thread_safe_append_keys(**job.log_keys(), stage=stage)
        run(job)

    return process_partial_response(
        event=event,
        record_handler=_one,
        processor=BatchProcessor(event_type=EventType.SQS, model=record_model),
        context=context,
    )
