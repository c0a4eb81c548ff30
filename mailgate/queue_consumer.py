"""One way to consume an SQS batch: each record is parsed into its job and run on its own.

A record that fails, whether its body does not parse or its run raises, is reported as a batch
item failure: SQS receives it again until the redrive policy moves it to the dead-letter queue.
With ``Failures``, a failed record comes back after its own delay rather than the queue's
visibility timeout, and the run of its last receive hands the error to ``on_last`` (which
marks the job's rows ``dead_lettered``) before SQS moves it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailgate.jobs import J, JobRecord
from mailgate.observability import logger

R = TypeVar("R", bound=JobRecord[Any])


@dataclass(frozen=True)
class Failures:
    """What becomes of a record whose run failed."""

    max_receive_count: int  # the queue's redrive policy: the last receive before the DLQ
    on_last: Callable[[str, str, BaseException], None]  # (body, message id, error)
    # Make a received record visible again after a delay (receipt handle, seconds), and the
    # delay; None: the queue's visibility timeout decides.
    retry_later: Callable[[str, int], None] | None = None
    retry_s: int | None = None


def consume(
    event: dict[str, Any],
    context: LambdaContext,
    record_model: type[JobRecord[J]],
    stage: str,
    run: Callable[[J], None],
    failures: Failures | None = None,
) -> PartialItemFailureResponse:
    return consume_records(
        event, context, record_model, stage, lambda record: run(record.body), failures
    )


def consume_records(
    event: dict[str, Any],
    context: LambdaContext,
    record_model: type[R],
    stage: str,
    run: Callable[[R], None],
    failures: Failures | None = None,
) -> PartialItemFailureResponse:
    """As ``consume``, for a stage that reads the record itself (its receive count)."""

    def _one(record: SQSRecord) -> None:  # powertools passes it by this name
        try:
            parsed = record_model.model_validate(record.raw_event)
            logger.thread_safe_append_keys(**parsed.body.log_keys(), stage=stage)
            run(parsed)
        except Exception as error:
            if failures is not None:
                _failed(record, error, failures)
            raise
        finally:
            logger.thread_safe_clear_keys()  # the next record's lines carry only their own

    return process_partial_response(
        event=event,
        record_handler=_one,
        processor=BatchProcessor(event_type=EventType.SQS),
        context=context,
    )


def _failed(raw: SQSRecord, error: Exception, failures: Failures) -> None:
    receives = int(raw.attributes.approximate_receive_count or "1")
    last = receives >= failures.max_receive_count
    if last:
        logger.error("the job failed its last run: it goes to the dead-letter queue", exc_info=True)
        try:
            failures.on_last(raw.body, raw.message_id, error)
        except Exception:
            logger.exception("the rows of a dead-lettered job could not be marked")
    if failures.retry_later is not None and failures.retry_s is not None:
        try:
            failures.retry_later(raw.receipt_handle, failures.retry_s)
        except Exception:
            logger.exception("a failed job keeps the queue's visibility timeout")
