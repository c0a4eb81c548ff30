"""A deleted tenant's data, erased: its tracking rows and timelines, policy events, quarantine
index, export tasks and quota, saved queries (every item whose partition key is ``<tenant>`` or
starts with ``<tenant>#``), its raw mail and export files (every object under ``<tenant>/``) and
its audit trail.

The tables are keyed by message or event, not by tenant, so finding a tenant's items is a scan
of each table: an operator's rare, deliberate act, never a request's.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr

from mailgate import aws, resources
from mailgate.storage.audit import AuditStore

_DELETE_BATCH = 1000  # objects per S3 DeleteObjects request


class TenantData:
    def __init__(
        self,
        tables: Iterable[tuple[resources.Table, str]],  # each declaration and its physical name
        bucket: str,
        audit: AuditStore,
        clock: Callable[[], datetime],
    ) -> None:
        self._tables = list(tables)
        self._bucket = bucket
        self._audit = audit
        self._clock = clock

    def erase(self, tenant_id: str) -> int:
        """How many items and objects were deleted."""
        erased = sum(self._erase_items(spec, name, tenant_id) for spec, name in self._tables)
        erased += self._erase_objects(f"{tenant_id}/")
        return erased + self._audit.erase(tenant_id, self._clock().date())

    def _erase_items(self, spec: resources.Table, name: str, tenant_id: str) -> int:
        table = aws.table(name)
        keys = [spec.partition.name, *([spec.sort.name] if spec.sort else [])]
        request: dict[str, Any] = {
            "FilterExpression": Attr(spec.partition.name).begins_with(f"{tenant_id}#")
            | Attr(spec.partition.name).eq(tenant_id),
            "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(keys))),
            "ExpressionAttributeNames": {f"#k{i}": key for i, key in enumerate(keys)},
        }
        erased = 0
        while True:
            response = table.scan(**request)
            with table.batch_writer() as batch:
                for item in response.get("Items", []):
                    batch.delete_item(Key={key: item[key] for key in keys})
                    erased += 1
            if "LastEvaluatedKey" not in response:
                return erased
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _erase_objects(self, prefix: str) -> int:
        s3 = aws.client("s3")
        erased = 0
        for page in s3.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix
        ):
            keys = [{"Key": found["Key"]} for found in page.get("Contents", [])]
            for start in range(0, len(keys), _DELETE_BATCH):
                s3.delete_objects(
                    Bucket=self._bucket,
                    Delete={"Objects": keys[start : start + _DELETE_BATCH], "Quiet": True},
                )
            erased += len(keys)
        return erased
