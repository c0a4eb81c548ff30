"""The audit trail in its own table: partition ``<tenant>#<UTC day>``, sort key
``<time>#<entry id>``, so a period is one key-range query per day, newest first; each entry
expires a year after it was written (DynamoDB TTL, and a read-time filter)."""

from __future__ import annotations

import time as _time
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from mailgate import aws
from mailgate.audit import AUDIT_RETENTION, AuditEntry
from mailgate.clock import iso
from mailgate.ports import DayPosition
from mailgate.resources import EXPIRES_AT
from mailgate.storage.day_index import time_sk


def _pk(tenant_id: str, day: date) -> str:
    return f"{tenant_id}#{day.isoformat()}"


class AuditStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def add(self, entry: AuditEntry) -> None:
        item = entry.model_dump(mode="json")
        item.update(
            pk=_pk(entry.tenant_id, entry.time.date()),
            sk=time_sk(entry.time, entry.entry_id),
            time=iso(entry.time),
            **{EXPIRES_AT: int((entry.time + AUDIT_RETENTION).timestamp())},
        )
        self._table.put_item(Item=_plain(item))

    def by_day(
        self,
        tenant_id: str,
        day: date,
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: DayPosition | None = None,
    ) -> tuple[list[AuditEntry], DayPosition | None]:
        """Unexpired entries of one UTC day from ``start`` to ``end``, in time order after
        ``after``; at most ``limit`` are read; the position to go on from, or None."""
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(tenant_id, day))
            & Key("sk").between(iso(start), iso(end) + "#~"),
            "FilterExpression": Attr(EXPIRES_AT).gt(int(_time.time())),
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if after is not None:
            request["ExclusiveStartKey"] = {
                "pk": _pk(tenant_id, day),
                "sk": time_sk(after.time, after.id),
            }
        response = self._table.query(**request)
        entries = [_entry(item) for item in response.get("Items", [])]
        more = response.get("LastEvaluatedKey")
        if not more:
            return entries, None
        moment, entry_id = more["sk"].split("#", 1)
        return entries, DayPosition(datetime.fromisoformat(moment), entry_id)

    def erase(self, tenant_id: str, today: date) -> int:
        """Delete every entry of the tenant (a deleted tenant's data); how many there were."""
        erased = 0
        for back in range(AUDIT_RETENTION.days + 2):
            request: dict[str, Any] = {
                "KeyConditionExpression": Key("pk").eq(_pk(tenant_id, today - timedelta(back))),
                "ProjectionExpression": "pk, sk",
            }
            while True:
                response = self._table.query(**request)
                with self._table.batch_writer() as batch:
                    for item in response.get("Items", []):
                        batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
                        erased += 1
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return erased


def _plain(value: Any) -> Any:
    """JSON numbers as DynamoDB takes them (floats become Decimals)."""
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {name: _plain(inner) for name, inner in value.items()}
    if isinstance(value, list):
        return [_plain(inner) for inner in value]
    return value


def _entry(item: dict[str, Any]) -> AuditEntry:
    def json(value: Any) -> Any:
        if isinstance(value, Decimal):
            return int(value) if value == value.to_integral_value() else float(value)
        if isinstance(value, dict):
            return {name: json(inner) for name, inner in value.items()}
        if isinstance(value, list):
            return [json(inner) for inner in value]
        return value

    fields = {name: json(item[name]) for name in AuditEntry.model_fields if name in item}
    return AuditEntry.model_validate(fields)
