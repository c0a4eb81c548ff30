from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.redeliver import wiring
from mailgate.jobs import RedeliveryRecord
from mailgate.observability import logger, tracer
from mailgate.queue_consumer import consume


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return consume(event, context, RedeliveryRecord, "redeliver", wiring.redeliverer().run)
