"""The SIEM feed's order: a tenant's policy events and blocked-traffic rows in the order they
were written.

"Written" is the moment the store wrote the item (its writer's clock), not the time the item
tells of: a policy event found by a scan retried an hour after its message arrived, or a row
that lands in an earlier day of the ``by_time`` index, is written *now*, so it comes after every
line a reader was already given and no cursor passes over it. Each such item carries
``feedpk`` ``<tenant>#F#<UTC day written>`` and ``feedsk`` ``<written at>#<kind>#<id>`` (the
``by_write`` index of its table); a position in the feed is a ``feedsk``, and both tables' items
of one day merge in ``feedsk`` order.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

from boto3.dynamodb.conditions import Key

from mailgate.clock import iso, utcnow
from mailgate.resources import FEED_INDEX
from mailgate.storage.day_index import expired

EVENT = "event"
BLOCKED = "blocked"
_PK, _SK = "feedpk", "feedsk"  # the keys of resources.FEED_INDEX
KEYS = (_PK, _SK)
_PAGE = 500
_AFTER_EVERY_ID = "#~"  # sorts after "<time>#<kind>#…" of that time


def feed_keys(tenant_id: str, kind: str, record_id: str) -> dict[str, str]:
    """The keys that put an item being written now at the end of its tenant's feed."""
    now = utcnow()
    return {_PK: _partition(tenant_id, now.date()), _SK: f"{iso(now)}#{kind}#{record_id}"}


def _partition(tenant_id: str, day: date) -> str:
    return f"{tenant_id}#F#{day.isoformat()}"


def position_day(position: str) -> date:
    """The UTC day a position was written on (ValueError if it is no position)."""
    return date.fromisoformat(position[:10])


def upper_bound(moment: str) -> str:
    """The last position written at ``moment`` (an ``iso`` time), whatever its kind and id."""
    return moment + _AFTER_EVERY_ID


def written_items(
    table: Any, tenant_id: str, day: date, after: str, upto: str
) -> Iterator[tuple[str, dict[str, Any]]]:
    """The tenant's unexpired items written on ``day`` after the position ``after`` and up to
    ``upto`` (included), in order, with their positions; read a page at a time, lazily."""
    request: dict[str, Any] = {
        "IndexName": FEED_INDEX.name,
        "KeyConditionExpression": Key(_PK).eq(_partition(tenant_id, day))
        & Key(_SK).between(after, upto),
        "Limit": _PAGE,
    }
    while True:
        response = table.query(**request)
        for item in response.get("Items", []):
            if item[_SK] != after and not expired(item):
                yield item[_SK], item
        if "LastEvaluatedKey" not in response:
            return
        request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
