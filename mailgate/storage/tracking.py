"""The tracking table: rows per message and recipient, and their timeline events.

This module alone knows how they are keyed. A row and the timeline events of its message share
the partition ``<tenant>#M#<message uuid>``; rows sort under ``R#<recipient>``, events under
``E#<event id>``. The ``by_time`` index partitions rows by tenant, direction, type and UTC
day, sorted by ``<time>#<message uuid>#<recipient>``, so a search period is one key-range
query per day. Each row also has Message-ID lookup items (``mailgate.storage.message_id_items``).
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import Any, NamedTuple

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic_core import to_jsonable_python

from mailgate import aws
from mailgate.catalog import Direction, Status, TrackingType
from mailgate.clock import iso, parse_iso
from mailgate.records import REPEATABLE, STATUS_RANK, TimelineEvent, TrackingRow
from mailgate.resources import EXPIRES_AT
from mailgate.storage import feed
from mailgate.storage.day_index import (
    conditional_failed,
    day_bucket,
    expired,
    expires_at,
    items_at,
    query_day,
    time_sk,
)
from mailgate.storage.message_id_items import message_id_items, message_id_pk

_ROW_PREFIX = "R#"
_EVENT_PREFIX = "E#"


class TimePosition(NamedTuple):
    """A row's place in the time order of its day, where a read of that day can resume."""

    time: datetime
    message_uuid: str
    recipient: str

    @classmethod
    def of(cls, row: TrackingRow) -> TimePosition:
        return cls(row.time, row.message_uuid, row.recipient)


def _message_pk(tenant_id: str, message_uuid: str) -> str:
    return f"{tenant_id}#M#{message_uuid}"


def _row_sk(recipient: str) -> str:
    return f"{_ROW_PREFIX}{recipient.lower()}"


def _event_sk(event_id: str) -> str:
    """Events are keyed by an id the step derives from what it did (stage, attempt, recipient),
    so a step that runs twice writes its event once."""
    return f"{_EVENT_PREFIX}{event_id}"


def _time_sk(time: datetime, message_uuid: str, recipient: str) -> str:
    return time_sk(time, message_uuid, recipient.lower())


def _row_item(row: TrackingRow) -> dict[str, Any]:
    item = row.model_dump(mode="json", exclude_none=True)
    item.update(
        pk=_message_pk(row.tenant_id, row.message_uuid),
        sk=_row_sk(row.recipient),
        gsi1pk=day_bucket(row.tenant_id, row.direction, row.type, row.time.date()),
        gsi1sk=_time_sk(row.time, row.message_uuid, row.recipient),
        time=iso(row.time),
        **{EXPIRES_AT: expires_at(row.time)},
    )
    if row.status is not None:
        item["status_rank"] = STATUS_RANK[row.status]
    if row.type is TrackingType.BLOCKED:  # blocked traffic is in the SIEM feed
        item |= feed.feed_keys(row.tenant_id, feed.BLOCKED, f"{row.message_uuid}#{row.recipient}")
    return item


def _row_of(item: dict[str, Any]) -> TrackingRow:
    fields = {name: item[name] for name in TrackingRow.model_fields if name in item}
    fields["time"] = parse_iso(item["time"])
    fields["size"] = int(item.get("size", 0))
    return TrackingRow.model_validate(fields)


def _event_item(tenant_id: str, message_uuid: str, event: TimelineEvent) -> dict[str, Any]:
    item = event.model_dump(mode="json")
    item.update(
        pk=_message_pk(tenant_id, message_uuid),
        sk=_event_sk(event.event_id),
        time=iso(event.time),
        **{EXPIRES_AT: expires_at(event.time)},
    )
    return item


def _event_of(item: dict[str, Any]) -> TimelineEvent:
    fields = {name: item[name] for name in TimelineEvent.model_fields if name in item}
    fields["time"] = parse_iso(item["time"])
    return TimelineEvent.model_validate(fields)


def _position_of(key: dict[str, Any]) -> TimePosition:
    time, message_uuid, recipient = key["gsi1sk"].split("#", 2)
    return TimePosition(parse_iso(time), message_uuid, recipient)


def _attribute(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


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
                batch.put_item(Item=_row_item(row))
                for item in message_id_items(row, expires_at(row.time)):
                    batch.put_item(Item=item)
            for event in events:
                batch.put_item(Item=_event_item(first.tenant_id, first.message_uuid, event))

    def add_once(self, row: TrackingRow, events: Iterable[TimelineEvent]) -> bool:
        """Write a row only if it does not exist yet (False: it did, and is left as it is), and
        its events (each once)."""
        try:
            self._table.put_item(Item=_row_item(row), ConditionExpression=Attr("pk").not_exists())
            created = True
        except ClientError as error:
            if not conditional_failed(error):
                raise
            created = False
        for item in message_id_items(row, expires_at(row.time)):
            self._table.put_item(Item=item)  # the same item again if the row existed
        for event in events:
            self.record(row.tenant_id, row.message_uuid, event)
        return created

    def record(self, tenant_id: str, message_uuid: str, event: TimelineEvent) -> None:
        try:
            self._table.put_item(
                Item=_event_item(tenant_id, message_uuid, event),
                ConditionExpression=Attr("sk").not_exists(),
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise

    def record_all(
        self, tenant_id: str, message_uuid: str, events: Iterable[TimelineEvent]
    ) -> None:
        """Several events in one batch write. Unlike ``record``, an event already stored is
        written again (same key, same step: its time becomes that of the repeated step)."""
        with self._table.batch_writer() as batch:
            for event in events:
                batch.put_item(Item=_event_item(tenant_id, message_uuid, event))

    def set_status(
        self, tenant_id: str, message_uuid: str, recipient: str, status: Status, **fields: Any
    ) -> bool:
        """Move a row to ``status`` unless it is already at a later one; False if it was."""
        rank = STATUS_RANK[status]
        values = {"status": status.value, "status_rank": rank}
        values.update((name, _attribute(value)) for name, value in fields.items())
        names = {f"#{i}": name for i, name in enumerate(values)}
        placeholders = {f":{i}": value for i, value in enumerate(values.values())}
        assignments = ", ".join(f"#{i} = :{i}" for i in range(len(values)))
        rank_test = Attr("status_rank").lte(rank) if status in REPEATABLE else None
        condition = Attr("pk").exists() & (
            rank_test if rank_test is not None else Attr("status_rank").lt(rank)
        )
        try:
            self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression=f"SET {assignments}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=condition,
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def claim(
        self, tenant_id: str, message_uuid: str, recipient: str, now: datetime, until: datetime
    ) -> bool:
        """Take the right to deliver a recipient until ``until``: False while another run holds
        it or once the row is final. A status write releases it (``claimed_until`` "")."""
        try:
            self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression="SET claimed_until = :until",
                ConditionExpression=Attr("status_rank").lt(STATUS_RANK[Status.DELIVERED])
                & (Attr("claimed_until").not_exists() | Attr("claimed_until").lt(iso(now))),
                ExpressionAttributeValues={":until": iso(until)},
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        return True

    def release(self, tenant_id: str, message_uuid: str, recipient: str, until: datetime) -> None:
        """Give back a claim taken until ``until`` by a run that ends without an outcome; a
        claim taken since by another run is left alone."""
        try:
            self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression="SET claimed_until = :free",
                ConditionExpression=Attr("claimed_until").eq(iso(until)),
                ExpressionAttributeValues={":free": ""},
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise

    def dead_letter(
        self, tenant_id: str, message_uuid: str, recipient: str, event: TimelineEvent
    ) -> bool:
        """Mark a row whose job goes to a dead-letter queue ``dead_lettered``, with the event's
        detail as the reason, unless it is final (False then). Its rank drops to that of
        ``processing``: once redriven, the job moves the row on to any later status. The event
        goes on the timeline once the row is marked."""
        try:
            self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression="SET #status = :status, status_rank = :rank, "
                "dead_letter_reason = :reason, next_attempt_at = :none",
                ConditionExpression=Attr("pk").exists()
                & Attr("status_rank").lt(STATUS_RANK[Status.DELIVERED]),
                ExpressionAttributeNames={"#status": "status"},
                ExpressionAttributeValues={
                    ":status": Status.DEAD_LETTERED.value,
                    ":rank": STATUS_RANK[Status.DEAD_LETTERED],
                    ":reason": event.detail,
                    ":none": None,
                },
            )
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        self.record(tenant_id, message_uuid, event)
        return True

    def annotate(self, tenant_id: str, message_uuid: str, recipient: str, **fields: Any) -> None:
        """Set fields of an existing row (not its status), e.g. what stage 2 found."""
        values: dict[str, Any] = to_jsonable_python(fields)
        names = {f"#{i}": name for i, name in enumerate(values)}
        placeholders = {f":{i}": value for i, value in enumerate(values.values())}
        try:
            self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=Attr("pk").exists(),
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise

    def statuses(
        self, tenant_id: str, message_uuid: str, recipients: Iterable[str]
    ) -> dict[str, Status | None]:
        """The status of each recipient's row (lower-cased recipient → status; a row that does
        not exist is left out), read by key: no read of the message's timeline."""
        pk = _message_pk(tenant_id, message_uuid)
        keys = [{"pk": pk, "sk": _row_sk(r)} for r in dict.fromkeys(r.lower() for r in recipients)]
        found: dict[str, Status | None] = {}
        for item in items_at(
            self._table,
            keys,
            ConsistentRead=True,
            ProjectionExpression="sk, #status",
            ExpressionAttributeNames={"#status": "status"},
        ):
            status = item.get("status")
            found[item["sk"].removeprefix(_ROW_PREFIX)] = status and Status(status)
        return found

    def rows(self, tenant_id: str, keys: Iterable[tuple[str, str]]) -> list[TrackingRow]:
        """The unexpired rows of the tenant at these (message uuid, recipient) keys, read by
        key; a key of another tenant's row finds nothing."""
        wanted = dict.fromkeys(
            (_message_pk(tenant_id, message_uuid), _row_sk(recipient))
            for message_uuid, recipient in keys
        )
        now = int(_time.time())
        return [
            _row_of(item)
            for item in items_at(self._table, [{"pk": pk, "sk": sk} for pk, sk in wanted])
            if int(item.get(EXPIRES_AT, 0)) > now
        ]

    def message(
        self, tenant_id: str, message_uuid: str
    ) -> tuple[list[TrackingRow], list[TimelineEvent]]:
        rows: list[TrackingRow] = []
        events: list[TimelineEvent] = []
        for item in self._message_items(tenant_id, message_uuid):
            if expired(item):
                continue
            if item["sk"].startswith(_ROW_PREFIX):
                rows.append(_row_of(item))
            else:
                events.append(_event_of(item))
        events.sort(key=lambda event: (event.time, event.event_id))
        return rows, events

    def rows_by_time(
        self,
        tenant_id: str,
        direction: Direction,
        type: TrackingType,
        day: date,
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: TimePosition | None = None,
    ) -> tuple[list[TrackingRow], TimePosition | None]:
        """Unexpired rows of one UTC day received from ``start`` to ``end`` (both included), in
        time order after ``after``; at most ``limit`` items are read, and the position to read
        on from is returned while the day may hold more."""
        bucket = day_bucket(tenant_id, direction, type, day)
        exclusive_start = None
        if after is not None:
            exclusive_start = {
                "pk": _message_pk(tenant_id, after.message_uuid),
                "sk": _row_sk(after.recipient),
                "gsi1pk": bucket,
                "gsi1sk": _time_sk(after.time, after.message_uuid, after.recipient),
            }
        items, more = query_day(
            self._table, bucket, start, end, newest_first, limit, exclusive_start
        )
        return [_row_of(item) for item in items], _position_of(more) if more else None

    def blocked_written(
        self, tenant_id: str, day: date, after: str, upto: str
    ) -> Iterator[tuple[str, TrackingRow]]:
        """The tenant's blocked rows written on ``day`` after the feed position ``after``, up
        to ``upto``, in the order written (``mailgate.storage.feed``)."""
        for position, item in feed.written_items(self._table, tenant_id, day, after, upto):
            yield position, _row_of(item)

    def keys_by_message_id(
        self, tenant_id: str, message_id: str, limit: int
    ) -> list[tuple[str, str]]:
        """The (message uuid, recipient) keys of at most ``limit`` rows of the tenant that
        carry ``message_id`` (their own, or the one they refer to), read from the Message-ID
        lookup items; read the rows themselves with ``rows``."""
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(message_id_pk(tenant_id, message_id)),
            "Limit": limit,
        }
        keys: list[tuple[str, str]] = []
        while len(keys) < limit:
            response = self._table.query(**request)
            keys.extend(
                (item["message_uuid"], item["recipient"])
                for item in response.get("Items", [])
                if not expired(item)
            )
            if "LastEvaluatedKey" not in response:
                break
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return keys[:limit]

    def _message_items(self, tenant_id: str, message_uuid: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_message_pk(tenant_id, message_uuid)),
            "ConsistentRead": True,
        }
        while True:
            response = self._table.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
