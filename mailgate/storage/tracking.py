"""The tracking table: rows per message and recipient, and their timeline events.

This module alone knows how they are keyed. A row and the timeline events of its message share
the partition ``<tenant>#M#<message uuid>``; rows sort under ``R#<recipient>``, events under
``E#<event id>``. The ``by_time`` index partitions rows by tenant, direction, type and UTC
day (and shard, for a tenant given several), sorted by ``<time>#<message uuid>#<recipient>``,
so a search period is one key-range query per day and shard.

Index items make exact-match searches read about what they return: a copy of the row under
``<tenant>#X#<direction>#<type>#<shard>#<field>#<value>``, sorted like ``by_time``, one per
key of ``mailgate.search.index_keys``. A Message-ID key is the tenant's whole: its items are
under ``<tenant>#X#message_id#<value>``, so the rows of every direction and type that share a
Message-ID (related messages) are one small partition, and a search by Message-ID keeps those
of its own direction and type. Index items are written with the row and rewritten from it once
it is final; a copy whose row was still moving is checked against its row on read.
"""

from __future__ import annotations

import hashlib
import time as _time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date, datetime
from typing import Any, NamedTuple

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError
from pydantic import BaseModel
from pydantic_core import to_jsonable_python

from mailgate import aws
from mailgate.catalog import Direction, Status, TrackingType
from mailgate.clock import iso, parse_iso
from mailgate.ports import Reindexed
from mailgate.records import REPEATABLE, STATUS_RANK, PolicyPass, TimelineEvent, TrackingRow
from mailgate.resources import EXPIRES_AT
from mailgate.search.index_keys import Indexed, IndexKey, keys_of, message_id_key
from mailgate.storage import feed
from mailgate.storage.day_index import (
    INDEX,
    conditional_failed,
    day_bucket,
    expired,
    expires_at,
    items_at,
    time_sk,
)
from mailgate.storage.meter import StoreMeter
from mailgate.storage.time_streams import KeyRange, read_merged

_ROW_PREFIX = "R#"
_EVENT_PREFIX = "E#"
# A row at this rank no longer changes status: its index items can be trusted as they are.
_FINAL_RANK = STATUS_RANK[Status.DELIVERED]
# What a row item holds that its index items do not copy: its own keys and by_time's.
# The keys that place a row in the table and its indexes, which its index items must not copy.
_ROW_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk", *feed.KEYS)
_REINDEX_PAGE = 100  # rows read, then repaired, at a time


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


def _shard_of(row: TrackingRow, shards: int) -> int:
    """A stable spread of a tenant's rows over ``shards`` (the same in every process)."""
    if shards <= 1:
        return 0
    digest = hashlib.sha256(f"{row.message_uuid}#{row.recipient.lower()}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % shards


def _bucket(tenant_id: str, direction: str, type: str, day: date, shard: int) -> str:
    """Shard 0 is the day bucket itself, so raising a tenant's shards moves no row."""
    bucket = day_bucket(tenant_id, direction, type, day)
    return bucket if shard == 0 else f"{bucket}#{shard}"


def _index_pk(tenant_id: str, direction: str, type: str, shard: int, key: IndexKey) -> str:
    if key.field is Indexed.MESSAGE_ID:
        return _message_id_pk(tenant_id, key)
    return f"{tenant_id}#X#{direction}#{type}#{shard}#{key.field}#{key.value}"


def _message_id_pk(tenant_id: str, key: IndexKey) -> str:
    return f"{tenant_id}#X#{key.field}#{key.value}"


def _row_item(row: TrackingRow, shard: int) -> dict[str, Any]:
    item = row.model_dump(mode="json", exclude_none=True)
    item.update(
        pk=_message_pk(row.tenant_id, row.message_uuid),
        sk=_row_sk(row.recipient),
        gsi1pk=_bucket(row.tenant_id, row.direction, row.type, row.time.date(), shard),
        gsi1sk=_time_sk(row.time, row.message_uuid, row.recipient),
        time=iso(row.time),
        shard=shard,
        **{EXPIRES_AT: expires_at(row.time)},
    )
    if row.status is not None:
        item["status_rank"] = STATUS_RANK[row.status]
    if row.type is TrackingType.BLOCKED:  # blocked traffic is in the SIEM feed
        item |= feed.feed_keys(row.tenant_id, feed.BLOCKED, f"{row.message_uuid}#{row.recipient}")
    return item


def _index_items(item: dict[str, Any]) -> list[dict[str, Any]]:
    """The index items of a stored row item: a copy of it under each of its keys, expiring
    with it."""
    row = _row_of(item)
    shard = int(item.get("shard", 0))
    copy = {name: value for name, value in item.items() if name not in _ROW_KEYS}
    return [
        {
            **copy,
            "pk": _index_pk(row.tenant_id, row.direction, row.type, shard, key),
            "sk": item["gsi1sk"],
        }
        for key in keys_of(row)
    ]


def _moving(item: dict[str, Any]) -> bool:
    """Whether the row an index item copied may have changed since (a blocked row never
    does)."""
    return "status_rank" in item and int(item["status_rank"]) < _FINAL_RANK


def _row_of(item: dict[str, Any]) -> TrackingRow:
    fields = _fields(TrackingRow, item)
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


def _pass_item(tenant_id: str, message_uuid: str, policy_pass: PolicyPass) -> dict[str, Any]:
    item = policy_pass.model_dump(mode="json")
    item.update(
        pk=_message_pk(tenant_id, message_uuid),
        sk=_event_sk(policy_pass.event_id),
        **{EXPIRES_AT: expires_at(policy_pass.time)},
    )
    return item


def _events_of(item: dict[str, Any]) -> list[TimelineEvent]:
    """The events an event item holds: itself, or each rule of a stage-2 pass."""
    if "pass_id" in item:
        return PolicyPass.model_validate(_fields(PolicyPass, item)).events()
    return [TimelineEvent.model_validate(_fields(TimelineEvent, item))]


def _fields(model: type[BaseModel], item: dict[str, Any]) -> dict[str, Any]:
    fields = {name: item[name] for name in model.model_fields if name in item}
    fields["time"] = parse_iso(item["time"])
    return fields


def _position_at(sort_key: str) -> TimePosition:
    time, message_uuid, recipient = sort_key.split("#", 2)
    return TimePosition(parse_iso(time), message_uuid, recipient)


def _after(position: TimePosition | None) -> str | None:
    return None if position is None else _time_sk(*position)


def _attribute(value: Any) -> Any:
    return iso(value) if isinstance(value, datetime) else value


class TrackingStore:
    def __init__(self, table_name: str, shards: Mapping[str, int] | None = None) -> None:
        """``shards``: how many day buckets (and index partitions) a tenant's rows are spread
        over, for tenants whose writes would exceed one partition's rate; 1 when not given."""
        self._table_name = table_name
        self._shards = dict(shards or {})
        self.meter = StoreMeter()

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def _row_item(self, row: TrackingRow) -> dict[str, Any]:
        return _row_item(row, _shard_of(row, self._shards.get(row.tenant_id, 1)))

    def add(self, rows: Iterable[TrackingRow], events: Iterable[TimelineEvent]) -> None:
        """Write the rows of a newly accepted (or blocked) message, their index items and its
        first events. Each row is put before its index items."""
        rows = list(rows)
        if not rows:
            return
        first = rows[0]
        with self._table.batch_writer() as batch:
            for row in rows:
                item = self._row_item(row)
                self._put(batch, item, by_time=True)
                for index_item in _index_items(item):
                    self._put(batch, index_item)
            for event in events:
                self._put(batch, _event_item(first.tenant_id, first.message_uuid, event))

    def _put(self, writer: Any, item: dict[str, Any], by_time: bool = False) -> None:
        writer.put_item(Item=item)
        self.meter.wrote(item)
        if by_time:  # its entry in the by_time index is written too
            self.meter.wrote(item)

    def add_once(self, row: TrackingRow, events: Iterable[TimelineEvent]) -> bool:
        """Write a row only if it does not exist yet (False: it did, and is left as it is), its
        index items (each once: a step run again after a crash adds the missing ones), and its
        events (each once)."""
        item = self._row_item(row)
        try:
            self._table.put_item(Item=item, ConditionExpression=Attr("pk").not_exists())
            created = True
        except ClientError as error:
            if not conditional_failed(error):
                raise
            created = False
        for index_item in _index_items(item):
            try:
                self._table.put_item(Item=index_item, ConditionExpression=Attr("pk").not_exists())
            except ClientError as error:
                if not conditional_failed(error):
                    raise
        for event in events:
            self.record(row.tenant_id, row.message_uuid, event)
        return created

    def _follow(self, item: dict[str, Any]) -> None:
        """Rewrite the index items of a row that is now final from the row as stored; a row
        still moving is checked on read instead (see ``rows_by_index``)."""
        if _moving(item) or "gsi1sk" not in item:
            return
        with self._table.batch_writer() as batch:
            for index_item in _index_items(item):
                self._put(batch, index_item)

    def record(self, tenant_id: str, message_uuid: str, event: TimelineEvent) -> None:
        try:
            self._table.put_item(
                Item=_event_item(tenant_id, message_uuid, event),
                ConditionExpression=Attr("sk").not_exists(),
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise

    def record_pass(self, tenant_id: str, message_uuid: str, policy_pass: PolicyPass) -> None:
        """Unlike ``record``, a pass already stored is written again (same key, same pass: its
        time becomes that of the repeated run)."""
        self._table.put_item(Item=_pass_item(tenant_id, message_uuid, policy_pass))

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
            stored = self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression=f"SET {assignments}",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=condition,
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        self.meter.wrote(stored)
        self.meter.wrote(stored)  # and its by_time entry
        self._follow(stored)
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
            stored = self._table.update_item(
                Key={"pk": _message_pk(tenant_id, message_uuid), "sk": _row_sk(recipient)},
                UpdateExpression="SET " + ", ".join(f"#{i} = :{i}" for i in range(len(values))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=Attr("pk").exists(),
                ReturnValues="ALL_NEW",
            )["Attributes"]
        except ClientError as error:
            if not conditional_failed(error):
                raise
            return
        self._follow(stored)

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
        # By id: a pass run again after an upgrade may have its rules stored once per rule
        # too, as passes were before they were stored whole.
        events: dict[str, TimelineEvent] = {}
        for item in self._message_items(tenant_id, message_uuid):
            if expired(item):
                continue
            if item["sk"].startswith(_ROW_PREFIX):
                rows.append(_row_of(item))
            else:
                events.update((event.event_id, event) for event in _events_of(item))
        return rows, sorted(events.values(), key=lambda event: (event.time, event.event_id))

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
        time order after ``after`` (across the tenant's shards); at most about ``limit`` items
        are read, and the position to read on from is returned while the day may hold more."""

        def day_range(shard: int) -> KeyRange:
            bucket = _bucket(tenant_id, direction, type, day, shard)

            def start_key(sort_key: str) -> dict[str, Any]:
                at = _position_at(sort_key)
                return {
                    "pk": _message_pk(tenant_id, at.message_uuid),
                    "sk": _row_sk(at.recipient),
                    "gsi1pk": bucket,
                    "gsi1sk": sort_key,
                }

            high = iso(end) + "#~"  # every id at the end instant
            return KeyRange("gsi1pk", bucket, "gsi1sk", iso(start), high, start_key, INDEX)

        ranges = [day_range(shard) for shard in range(self._shards.get(tenant_id, 1))]
        items, more = read_merged(
            self._table, ranges, newest_first, limit, _after(after), int(_time.time()), self.meter
        )
        rows = [_row_of(item) for item in items]
        return rows, _position_at(items[-1]["gsi1sk"]) if more and items else None

    def rows_by_index(
        self,
        tenant_id: str,
        direction: Direction,
        type: TrackingType,
        keys: Sequence[IndexKey],
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: TimePosition | None = None,
    ) -> tuple[list[TrackingRow], TimePosition | None]:
        """Unexpired rows found by any of ``keys`` received from ``start`` to ``end``, in time
        order after ``after``, each once; as ``rows_by_time`` for the rest. A row that was
        still moving when its index item was written is read again, so its status is that of
        now (and a row removed since is left out). The items of other directions and types that
        share a Message-ID's partition are read and left out."""

        def key_range(pk: str) -> KeyRange:
            return KeyRange(
                "pk", pk, "sk", iso(start), iso(end) + "#~", lambda sort: {"pk": pk, "sk": sort}
            )

        shards = range(self._shards.get(tenant_id, 1))
        partitions = dict.fromkeys(  # a Message-ID's items are one partition, whatever the shards
            _index_pk(tenant_id, direction, type, shard, key) for key in keys for shard in shards
        )
        ranges = [key_range(pk) for pk in partitions]
        now = int(_time.time())
        items, more = read_merged(
            self._table, ranges, newest_first, limit, _after(after), now, self.meter
        )
        position = _position_at(items[-1]["sk"]) if more and items else None
        items = [i for i in items if (i["direction"], i["type"]) == (direction, type)]
        moving = [
            {"pk": _message_pk(tenant_id, item["message_uuid"]), "sk": _row_sk(item["recipient"])}
            for item in items
            if _moving(item)
        ]
        fresh: dict[tuple[str, str], dict[str, Any]] = {}
        for item in items_at(self._table, moving, ConsistentRead=True):
            self.meter.read(1)
            fresh[item["pk"], item["sk"]] = item
        rows: list[TrackingRow] = []
        for item in items:
            if _moving(item):
                row_key = (_message_pk(tenant_id, item["message_uuid"]), _row_sk(item["recipient"]))
                item = fresh.get(row_key, {})
                if not item or int(item.get(EXPIRES_AT, 0)) <= now:
                    continue
            rows.append(_row_of(item))
        return rows, position

    def reindex_day(
        self,
        tenant_id: str,
        direction: Direction,
        type: TrackingType,
        day: date,
        write: bool,
        page_size: int = _REINDEX_PAGE,
    ) -> Iterator[Reindexed]:
        """Give each unexpired row of one day bucket (every shard of the tenant) the index
        items it should have, built from the row as stored now (read by key,
        strongly consistent), where they are missing or differ; nothing is removed. The count
        of each page of ``page_size`` rows; in a dry run (not ``write``) nothing is written."""
        for shard in range(self._shards.get(tenant_id, 1)):
            request: dict[str, Any] = {
                "IndexName": INDEX,
                "KeyConditionExpression": Key("gsi1pk").eq(
                    _bucket(tenant_id, direction, type, day, shard)
                ),
                "ProjectionExpression": "pk, sk",
                "Limit": page_size,
            }
            while True:
                response = self._table.query(**request)
                keys = [{"pk": i["pk"], "sk": i["sk"]} for i in response.get("Items", [])]
                rows = [
                    item
                    for item in items_at(self._table, keys, ConsistentRead=True)
                    if not expired(item)
                ]
                yield self._reindex(rows, write)
                if "LastEvaluatedKey" not in response:
                    break
                request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def _reindex(self, rows: list[dict[str, Any]], write: bool) -> Reindexed:
        wanted = [item for row in rows for item in _index_items(row)]
        stored = {
            (item["pk"], item["sk"]): item
            for item in items_at(
                self._table, [{"pk": w["pk"], "sk": w["sk"]} for w in wanted], ConsistentRead=True
            )
        }
        done = Reindexed(rows=len(rows))
        for item in wanted:
            if stored.get((item["pk"], item["sk"])) == item:
                done.correct += 1
            elif not write or self._repair(item):
                done.written += 1
            else:
                done.correct += 1  # a newer copy was written meanwhile
        return done

    def _repair(self, item: dict[str, Any]) -> bool:
        """Put an index item; a copy of a row still moving does not replace a copy of the
        row made final since it was read (False then)."""
        condition = (
            Attr("pk").not_exists() | Attr("status_rank").lt(_FINAL_RANK) if _moving(item) else None
        )
        try:
            if condition is None:
                self._table.put_item(Item=item)
            else:
                self._table.put_item(Item=item, ConditionExpression=condition)
        except ClientError as error:
            if conditional_failed(error):
                return False
            raise
        self.meter.wrote(item)
        return True

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
        carry ``message_id`` (their own, or the one they refer to), read from its index items;
        read the rows themselves with ``rows``."""
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(
                _message_id_pk(tenant_id, message_id_key(message_id))
            ),
            "ProjectionExpression": "message_uuid, recipient, #expires",
            "ExpressionAttributeNames": {"#expires": EXPIRES_AT},
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
