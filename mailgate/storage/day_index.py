"""What the stores of day-bucketed records share: the 90-day expiry, conditional writes, and
the key-range read of one day of the ``by_time`` index.

Each such store partitions its index by tenant, direction, kind and UTC day
(``gsi1pk``) and sorts it by ``<time>#<ids>`` (``gsi1sk``), so a search period is one key-range
query per day.
"""

from __future__ import annotations

import time as _time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any, Generic, TypeVar

from boto3.dynamodb.conditions import Attr, ConditionBase
from botocore.exceptions import ClientError
from pydantic import BaseModel

from mailgate import aws
from mailgate.catalog import Direction
from mailgate.clock import iso, parse_iso
from mailgate.ports import DayPosition
from mailgate.resources import EXPIRES_AT, RETENTION_DAYS
from mailgate.storage import plain_query

INDEX = "by_time"
_BATCH_GET_MAX = 100  # keys per BatchGetItem request


def expires_at(time: datetime) -> int:
    return int((time + timedelta(days=RETENTION_DAYS)).timestamp())


def expired(item: dict[str, Any]) -> bool:
    """DynamoDB's TTL deletion can lag by days: a read drops what has expired itself."""
    return int(item.get(EXPIRES_AT, 0)) <= int(_time.time())


def conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


def day_bucket(tenant_id: str, direction: str, kind: str, day: date) -> str:
    return f"{tenant_id}#{direction}#{kind}#{day.isoformat()}"


def time_sk(time: datetime, *ids: str) -> str:
    return "#".join((iso(time), *ids))


def query_day(
    table: Any,
    bucket: str,
    start: datetime,
    end: datetime,
    newest_first: bool,
    limit: int,
    exclusive_start: dict[str, Any] | None,
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """Unexpired items of one day bucket from ``start`` to ``end`` (both included) in time
    order, after ``exclusive_start`` (a key of the index); at most ``limit`` are read. Returns
    the items and the key to read on from, None when the bucket has no more."""
    # Read without boto3's parsing (``plain_query``): an export reads 50,000 items this way.
    return plain_query.query(
        table.name,
        exclusive_start,
        IndexName=INDEX,
        KeyConditionExpression="gsi1pk = :bucket AND gsi1sk BETWEEN :from AND :to",
        FilterExpression="#expires > :now",
        ExpressionAttributeNames={"#expires": EXPIRES_AT},
        ExpressionAttributeValues={
            ":bucket": {"S": bucket},
            ":from": {"S": iso(start)},
            ":to": {"S": iso(end) + "#~"},  # every id at the end instant
            ":now": {"N": str(int(_time.time()))},
        },
        ScanIndexForward=not newest_first,
        Limit=limit,
    )


@dataclass(frozen=True)
class RecordKeys:
    tenant_id: str
    id: str  # unique within the tenant and the kind
    direction: str
    time: datetime  # the index's order
    received_at: datetime  # the record expires with the message's other logs


def items_at(table: Any, keys: list[dict[str, str]], **options: Any) -> Iterator[dict[str, Any]]:
    """The items of ``table`` at ``keys`` (BatchGetItem, in requests of at most 100 keys)."""
    for start in range(0, len(keys), _BATCH_GET_MAX):
        request: dict[str, Any] = {
            table.name: {"Keys": keys[start : start + _BATCH_GET_MAX], **options}
        }
        while request:
            response = table.meta.client.batch_get_item(RequestItems=request)
            yield from response["Responses"].get(table.name, [])
            request = response.get("UnprocessedKeys") or {}


R = TypeVar("R", bound=BaseModel)


class DayIndexedStore(ABC, Generic[R]):
    """Records of one kind, one item each: partition key ``<tenant>#<prefix>#<id>``, listed
    by the ``by_time`` index per tenant, direction and UTC day."""

    model: type[R]
    prefix: str
    kind: str

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    @abstractmethod
    def _keys(self, record: R) -> RecordKeys: ...

    def _pk(self, tenant_id: str, record_id: str) -> str:
        return f"{tenant_id}#{self.prefix}#{record_id}"

    def _item(self, record: R) -> dict[str, Any]:
        keys = self._keys(record)
        item = record.model_dump(mode="json", exclude_none=True)
        item.update(
            pk=self._pk(keys.tenant_id, keys.id),
            gsi1pk=day_bucket(
                keys.tenant_id, keys.direction, self.kind, keys.time.astimezone(UTC).date()
            ),
            gsi1sk=time_sk(keys.time, keys.id),
            time=iso(keys.time),
            **{EXPIRES_AT: expires_at(keys.received_at)},
        )
        return item

    def _record(self, item: dict[str, Any]) -> R:
        fields = {name: item[name] for name in self.model.model_fields if name in item}
        for name, value in fields.items():
            if isinstance(value, Decimal):  # DynamoDB numbers
                fields[name] = int(value)
        return self.model.model_validate(fields)

    def _put_new(self, record: R, replaces: ConditionBase | None = None) -> bool:
        """Write ``record`` unless its key is already stored (and the stored item does not meet
        ``replaces``); False if it was not written."""
        condition: ConditionBase = Attr("pk").not_exists()
        if replaces is not None:
            condition = condition | replaces
        try:
            self._table.put_item(Item=self._item(record), ConditionExpression=condition)
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def _get(self, tenant_id: str, record_id: str) -> R | None:
        found = self._table.get_item(
            Key={"pk": self._pk(tenant_id, record_id)}, ConsistentRead=True
        ).get("Item")
        return None if found is None or expired(found) else self._record(found)

    def _get_many(self, tenant_id: str, record_ids: Iterable[str]) -> list[R]:
        """The unexpired records of the tenant with these ids, read by key, in no set order;
        an id of another tenant's record finds nothing."""
        keys = [{"pk": self._pk(tenant_id, pk)} for pk in dict.fromkeys(record_ids)]
        return [self._record(item) for item in items_at(self._table, keys) if not expired(item)]

    def by_time(
        self,
        tenant_id: str,
        direction: Direction,
        day: date,
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: DayPosition | None = None,
    ) -> tuple[list[R], DayPosition | None]:
        """Unexpired records of one UTC day from ``start`` to ``end``, in time order after
        ``after``; at most ``limit`` are read, and the position to read on from is returned
        while the day may hold more."""
        bucket = day_bucket(tenant_id, direction, self.kind, day)
        exclusive_start = None
        if after is not None:
            exclusive_start = {
                "pk": self._pk(tenant_id, after.id),
                "gsi1pk": bucket,
                "gsi1sk": time_sk(after.time, after.id),
            }
        items, more = query_day(
            self._table, bucket, start, end, newest_first, limit, exclusive_start
        )
        position = None
        if more:
            time, record_id = more["gsi1sk"].split("#", 1)
            position = DayPosition(parse_iso(time), record_id)
        return [self._record(item) for item in items], position
