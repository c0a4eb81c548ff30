from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.scan import wiring
from functions.scan.stage import EnginesUnavailable, RowsNotWritten
from mailgate.jobs import ScanRecord
from mailgate.observability import logger, tracer
from mailgate.queue_consumer import consume_records


def _run(record: ScanRecord) -> None:
    settings = wiring.settings()
    attempt = int(record.attributes.ApproximateReceiveCount)
    try:
        wiring.stage().run(record.body, last_attempt=attempt >= settings.engine_attempts)
    except EnginesUnavailable as error:
        # Received again sooner than the queue's visibility timeout: engines come back quickly.
        logger.warning("no verdict, the job is retried", attempt=attempt, engines=str(error))
        wiring.scan_queue().retry_later(record.receiptHandle, settings.engine_retry_s)
        raise
    except RowsNotWritten as error:
        logger.info("rows not written yet, the job is looked at again", retry_s=error.retry_s)
        wiring.scan_queue().retry_later(record.receiptHandle, error.retry_s)
        raise


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume_records(event, context, ScanRecord, "scan", _run, wiring.failures())
