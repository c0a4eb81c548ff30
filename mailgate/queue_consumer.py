"""One way to consume an SQS batch: each record is parsed into its job and run on its own.

A record that fails, whether its body does not parse or its run raises, is reported as a batch
item failure: SQS receives it again until the redrive policy moves it to the dead-letter queue.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailgate.jobs import J, JobRecord
from mailgate.observability import logger

R = TypeVar("R", bound=JobRecord[Any])


def consume(
    event: dict[str, Any],
    context: LambdaContext,
    record_model: type[JobRecord[J]],
    stage: str,
    run: Callable[[J], None],
) -> PartialItemFailureResponse:
    return consume_records(event, context, record_model, stage, lambda record: run(record.body))


def consume_records(
    event: dict[str, Any],
    context: LambdaContext,
    record_model: type[R],
    stage: str,
    run: Callable[[R], None],
) -> PartialItemFailureResponse:
    """As ``consume``, for a stage that reads the record itself (its receive count)."""

    def _one(record: R) -> None:
        job = record.body
        logger.thread_safe_append_keys(**job.log_keys(), stage=stage)
        run(record)

    return process_partial_response(
        event=event,
        record_handler=_one,
        processor=BatchProcessor(event_type=EventType.SQS, model=record_model),
        context=context,
    )
