from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.scan.stage import ScanStage
from mailgate.jobs import ScanJob
from mailgate.settings import ScanSettings
from mailgate.storage.queues import JobQueue
from mailgate.storage.tracking import TrackingStore

logger = Logger(service="mailgate", child=False)
settings = ScanSettings()
stage = ScanStage(TrackingStore(settings.tracking_table), JobQueue(settings.deliver_queue_url))
processor = BatchProcessor(event_type=EventType.SQS)


def _scan(record: SQSRecord) -> None:
    job = ScanJob.model_validate_json(record.body)
    logger.thread_safe_append_keys(
        tenant=job.tenant_id, message_uuid=job.message_uuid, stage="scan"
    )
    stage.run(job)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_scan, processor=processor, context=context
    )
