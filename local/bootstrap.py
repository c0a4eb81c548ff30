"""Creates the declared tables, bucket, queues and secrets in the local AWS emulator, and the
demo tenant. Idempotent: a restart finds what the last run created."""

from __future__ import annotations

import json
import secrets
from typing import Any

from botocore.exceptions import ClientError

from mailgate import aws, resources
from mailgate.auth import SCOPES
from mailgate.clock import utcnow
from mailgate.storage.tenants import TenantConfigStore, TenantStore
from mailgate.tenant_config import DomainConfig, MailServer, Outbound, TenantConfig
from mailgate.tenants import ApiKey

DEMO_TENANT = "demo"
DEMO_DOMAIN = "example.com"


def table_request(table: resources.Table) -> dict[str, Any]:
    """The CreateTable request of one of the project's tables, under its local name."""
    keys = [table.partition, *([table.sort] if table.sort else [])]
    attributes = {key.name: key.type for key in keys}
    indexes = []
    for index in table.indexes:
        index_keys = [index.partition, *([index.sort] if index.sort else [])]
        attributes.update({key.name: key.type for key in index_keys})
        indexes.append(
            {
                "IndexName": index.name,
                "KeySchema": _key_schema(index_keys),
                "Projection": {"ProjectionType": "ALL"},
            }
        )
    request: dict[str, Any] = {
        "TableName": table.local_name,
        "KeySchema": _key_schema(keys),
        "AttributeDefinitions": [
            {"AttributeName": name, "AttributeType": kind} for name, kind in attributes.items()
        ],
        "BillingMode": "PAY_PER_REQUEST",
    }
    if indexes:
        request["GlobalSecondaryIndexes"] = indexes
    return request


def _create_table(table: resources.Table) -> None:
    dynamodb = aws.client("dynamodb")
    try:
        dynamodb.create_table(**table_request(table))
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceInUseException":
            raise
        return
    if table.ttl_attribute:
        dynamodb.update_time_to_live(
            TableName=table.local_name,
            TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
        )


def _key_schema(keys: list[resources.Key]) -> list[dict[str, str]]:
    kinds = ["HASH", "RANGE"]
    return [
        {"AttributeName": key.name, "KeyType": kind} for key, kind in zip(keys, kinds, strict=False)
    ]


def _create_bucket(bucket: resources.Bucket, region: str) -> None:
    s3 = aws.client("s3")
    request: dict[str, Any] = {"Bucket": bucket.local_name}
    if region != "us-east-1":
        request["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        s3.create_bucket(**request)
    except ClientError as error:
        if error.response["Error"]["Code"] != "BucketAlreadyOwnedByYou":
            raise


def _create_queue(queue: resources.Queue) -> str:
    sqs = aws.client("sqs")
    dlq_url = sqs.create_queue(
        QueueName=queue.local_dlq_name,
        Attributes={"MessageRetentionPeriod": str(queue.dlq_retention_s)},
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(queue.max_receive_count)}
    url: str = sqs.create_queue(
        QueueName=queue.local_name,
        Attributes={
            "VisibilityTimeout": str(queue.visibility_timeout_s),
            "MessageRetentionPeriod": str(queue.retention_s),
            "RedrivePolicy": json.dumps(redrive),
        },
    )["QueueUrl"]
    return url


def _create_secret(secret: resources.Secret) -> None:
    manager = aws.client("secretsmanager")
    try:
        manager.create_secret(
            Name=secret.local_name,
            Description=secret.description,
            SecretString=secrets.token_urlsafe(48),
        )
    except ClientError as error:
        if error.response["Error"]["Code"] != "ResourceExistsException":
            raise


def create_resources(region: str) -> dict[str, str]:
    """Create everything declared; return the environment variables naming each resource."""
    env: dict[str, str] = {}
    for table in resources.TABLES:
        _create_table(table)
        env[table.env_var] = table.local_name
    _create_bucket(resources.MAIL, region)
    env[resources.MAIL.env_var] = resources.MAIL.local_name
    for queue in resources.QUEUES:
        env[queue.env_var] = _create_queue(queue)
    for secret in resources.SECRETS:
        _create_secret(secret)
        env[secret.env_var] = secret.local_name
    return env


def create_demo_tenant(
    tenants: TenantStore, configs: TenantConfigStore, api_key: str, sink_host: str, sink_port: int
) -> None:
    """The demo tenant: ``example.com`` delivered to the local sink, outbound relay allowed
    from loopback. An existing configuration (changed through the API) is kept."""
    tenants.put_tenant(DEMO_TENANT, "Demo tenant", utcnow())
    # Stored as its digest, like every key. A key stored before keys had ids and a listing
    # under their tenant is stored again, so that it can be listed and revoked.
    stored = tenants.api_key(api_key)
    if stored is None or not stored.key_id:
        tenants.put_api_key(
            api_key,
            ApiKey(tenant_id=DEMO_TENANT, scopes=list(SCOPES), name="demo", created_at=utcnow()),
        )
    _, version = configs.get(DEMO_TENANT)
    if version:
        return
    demo = DomainConfig(
        name=DEMO_DOMAIN,
        inbound_servers=[MailServer(host=sink_host, port=sink_port)],
        outbound=Outbound(enabled=True, sending_servers=["127.0.0.0/8"]),
    )
    configs.put(DEMO_TENANT, TenantConfig(domains=[demo]), expected_version=0)
