"""The tracking table: rows per message and recipient, and their timeline events."""

from __future__ import annotations

import time as _time
from collections.abc import Iterable
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from mailgate import aws
from mailgate import tracking_keys as keys
from mailgate.catalog import Status
from mailgate.records import REPEATABLE, STATUS_RANK, TimelineEvent, TrackingRow
from mailgate.resources import EXPIRES_AT

INDEX = "by_time"


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class TrackingStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def add(self, rows: Iterable[TrackingRow], events: Iterable[TimelineEvent]) -> None:
        """Write the rows of a newly accepted (or blocked) message and its first events."""
        rows = list(rows)
        if not rows:
            return
        first = rows[0]
        with self._table.batch_writer() as batch:
            for row in rows:
                batch.put_item(Item=row.to_item())
            for event in events:
                batch.put_item(Item=event.to_item(first.tenant_id, first.message_uuid))

    def remove(self, tenant_id: str, message_uuid: str) -> None:
        """Undo ``add`` for a message whose hand-off failed before the client was answered."""
        with self._table.batch_writer() as batch:
            for item in self._message_items(tenant_id, message_uuid):
                batch.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def record(self, tenant_id: str, message_uuid: str, event: TimelineEvent) -> None:
        try:
            self._table.put_item(
                Item=event.to_item(tenant_id, message_uuid),
                ConditionExpression=Attr("sk").not_exists(),
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def set_status(
        self, tenant_id: str, message_uuid: str, recipient: str, status: Status, **fields: Any
    ) -> bool:
        """Move a row to ``status`` unless it is already at a later one; False if it was."""
        rank = STATUS_RANK[status]
        values = {"status": status.value, "status_rank": rank, **fields}
        names = {f"#{i}": name for i, name in enumerate(values)}
        placeholders = {f":{i}": value for i, value in enumerate(values.values())}
        assignments = ", ".join(f"#{i} = :{i}" for i in range(len(values)))
        rank_test = Attr("status_rank").lte(rank) if status in REPEATABLE else None
        condition = Attr("pk").exists() & (
            rank_test if rank_test is not None else Attr("status_rank").lt(rank)
        )
        try:
            self._table.update_item(
                Key={
                    "pk": keys.message_pk(tenant_id, message_uuid),
                    "sk": keys.row_sk(recipient),
                },
                UpdateExpression=f"SET {assignments}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=condition,
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def message(
        self, tenant_id: str, message_uuid: str
    ) -> tuple[list[TrackingRow], list[TimelineEvent]]:
        rows: list[TrackingRow] = []
        events: list[TimelineEvent] = []
        now = int(_time.time())
        for item in self._message_items(tenant_id, message_uuid):
            if int(item.get(EXPIRES_AT, 0)) <= now:
                continue
            if item["sk"].startswith(keys.ROW_PREFIX):
                rows.append(TrackingRow.from_item(item))
            else:
                events.append(TimelineEvent.from_item(item))
        events.sort(key=lambda event: (event.time, event.event_id))
        return rows, events

    def rows_by_time(
        self,
        bucket: str,
        low: str,
        high: str,
        newest_first: bool,
        limit: int,
        start_after: dict[str, Any] | None,
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of one day bucket between two sort keys, unexpired rows only."""
        request: dict[str, Any] = {
            "IndexName": INDEX,
            "KeyConditionExpression": Key("gsi1pk").eq(bucket) & Key("gsi1sk").between(low, high),
            "FilterExpression": Attr(EXPIRES_AT).gt(int(_time.time())),
            "ScanIndexForward": not newest_first,
            "Limit": limit,
        }
        if start_after:
            request["ExclusiveStartKey"] = start_after
        response = self._table.query(**request)
        return response.get("Items", []), response.get("LastEvaluatedKey")

    def _message_items(self, tenant_id: str, message_uuid: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(keys.message_pk(tenant_id, message_uuid)),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
