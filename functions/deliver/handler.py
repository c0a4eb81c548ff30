from __future__ import annotations

from functools import partial
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

from functions.deliver import smtp_client
from functions.deliver.stage import DeliverStage
from mailgate import dns
from mailgate.jobs import DeliverJob
from mailgate.settings import DeliverSettings
from mailgate.storage.mail import MailStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import TenantStore
from mailgate.storage.tracking import TrackingStore

logger = Logger(service="mailgate", child=False)
settings = DeliverSettings()
resolver = dns.resolver(settings.dns_servers)
stage = DeliverStage(
    tracking=TrackingStore(settings.tracking_table),
    tenants=TenantStore(settings.tenants_table),
    mail=MailStore(settings.mail_bucket),
    queue=JobQueue(settings.deliver_queue_url),
    send=partial(smtp_client.deliver, helo=settings.hostname, timeout=settings.smtp_timeout_s),
    resolve_mx=partial(dns.mail_servers, res=resolver, port=settings.outbound_port),
    retry_schedule_s=settings.retry_schedule_s,
    queue_lifetime_s=settings.queue_lifetime_s,
)
processor = BatchProcessor(event_type=EventType.SQS)


def _deliver(record: SQSRecord) -> None:
    job = DeliverJob.model_validate_json(record.body)
    logger.thread_safe_append_keys(
        tenant=job.tenant_id, message_uuid=job.message_uuid, stage="deliver"
    )
    stage.run(job)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(
        event=event, record_handler=_deliver, processor=processor, context=context
    )
