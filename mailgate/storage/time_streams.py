"""One time order read from several key ranges sorted by the same sort key: the shards of a hot
tenant's day bucket, or the index partitions of a search's values. The ranges are merged in
exact sort-key order, each read lazily a little at a time, so a page reads about what it
returns whatever the number of ranges.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.conditions import Attr, Key

from mailgate.resources import EXPIRES_AT
from mailgate.storage.meter import StoreMeter

# A range is asked for at least this many items at a time, so that ranges holding a few items
# each are not read one item per request.
_MIN_READ = 4


@dataclass(frozen=True)
class KeyRange:
    """The items of one partition (of the table, or of the index ``index``) whose sort key is
    from ``low`` to ``high``; ``start_key`` makes the key to read on from just after a sort
    key."""

    partition_name: str
    partition: str
    sort_name: str
    low: str
    high: str
    start_key: Callable[[str], dict[str, Any]]
    index: str | None = None


@dataclass
class _Reader:
    range: KeyRange
    items: deque[dict[str, Any]] = field(default_factory=deque)
    next_key: dict[str, Any] | None = None
    done: bool = False


def read_merged(
    table: Any,
    ranges: Sequence[KeyRange],
    newest_first: bool,
    limit: int,
    after: str | None,
    live_after: int,
    meter: StoreMeter,
) -> tuple[list[dict[str, Any]], bool]:
    """Up to ``limit`` items of ``ranges`` in sort-key order (descending when
    ``newest_first``) after the sort key ``after``, leaving out items whose ``expires_at`` is
    not later than ``live_after``; an item found in several ranges is returned once. Also
    whether more may follow."""
    readers = [_Reader(r, next_key=r.start_key(after) if after else None) for r in ranges]
    found: list[dict[str, Any]] = []
    last_sort: str | None = None
    while len(found) < limit:
        live = [r for r in readers if r.items or not r.done]
        if not live:
            break
        for reader in live:
            if not reader.items:
                wanted = max(_MIN_READ, math.ceil((limit - len(found)) / len(live)))
                _read(table, reader, newest_first, wanted, live_after, meter)
        heads = [r for r in readers if r.items]
        if not heads:
            continue
        pick = (max if newest_first else min)(heads, key=lambda r: r.items[0][r.range.sort_name])
        item = pick.items.popleft()
        sort = item[pick.range.sort_name]
        if sort != last_sort:
            found.append(item)
            last_sort = sort
    more = any(r.items or not r.done for r in readers)
    return found, more


def _read(
    table: Any, reader: _Reader, newest_first: bool, limit: int, live_after: int, meter: StoreMeter
) -> None:
    key = reader.range
    request: dict[str, Any] = {
        "KeyConditionExpression": Key(key.partition_name).eq(key.partition)
        & Key(key.sort_name).between(key.low, key.high),
        "FilterExpression": Attr(EXPIRES_AT).gt(live_after),
        "ScanIndexForward": not newest_first,
        "Limit": limit,
    }
    if key.index is not None:
        request["IndexName"] = key.index
    if reader.next_key is not None:
        request["ExclusiveStartKey"] = reader.next_key
    response = table.query(**request)
    items = response.get("Items", [])
    meter.read(len(items))
    reader.items.extend(items)
    reader.next_key = response.get("LastEvaluatedKey")
    reader.done = reader.next_key is None
