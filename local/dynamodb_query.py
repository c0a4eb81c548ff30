"""DynamoDB Query in the local emulator without sorting the whole table on every call.

moto's ``Table.query`` takes its candidates from ``Table.all_items()``, which collects and
sorts every item of the table, and only then keeps those of the queried partition (or, on an
index, those with the queried index key). Its cost grows with the table, not with the answer.

``install()`` wraps ``Table.query`` at class level so that, for the duration of one call on one
thread, the table's ``all_items()`` answers with the candidates only: a base-table Query gets
its partition (``items[hash_key]``) in moto's order, an index Query the items whose index hash
attributes equal the queried ones (one pass over the table, then only those are sorted).
Everything after that (paging from the start key, Limit, the 1 MB page, the range condition,
filter, projection, direction, counts) is moto's own code. Nothing is stored on the tables,
so snapshots pickle as before; the hint lives in a thread-local, so concurrent requests do
not see each other's. Scan keeps the whole, sorted table.
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_ORIGINAL_QUERY: Callable[..., Any] = Table.query
_ORIGINAL_ALL_ITEMS: Callable[[Table], list[Item]] = Table.all_items
_SIGNATURE = inspect.signature(_ORIGINAL_QUERY)
_PLAIN = frozenset({"S", "B"})  # types whose DynamoType equality is that of their value
_hint = threading.local()  # .value: (table, candidates) while that table's query runs


def _order(item: Item) -> Any:
    """The order of moto's ``all_items`` (by its keys' DynamoTypes, which compare by their cast
    values; a key attribute has one type), each cast once per item instead of per comparison."""
    if item.range_key is not None:
        return (_value(item.hash_key), _value(item.range_key))
    return _value(item.hash_key)


def _value(value: DynamoType | None) -> Any:
    """What a DynamoType compares by: its cast value, which is the value itself for a string
    or binary one."""
    if value is None:
        return None
    return value.value if value.type in _PLAIN else value.cast_value


def _each_item(table: Table) -> list[Item]:
    if table.range_key_attr:
        return [item for bucket in table.items.values() for item in bucket.values()]  # type: ignore[attr-defined]
    return list(table.items.values())  # type: ignore[arg-type]


def _partition(table: Table, hash_key: DynamoType) -> list[Item]:
    bucket: Any = table.items.get(hash_key)
    if bucket is None:
        return []
    items = list(bucket.values()) if table.range_key_attr else [bucket]
    return sorted(items, key=_order)


def _index_matches(
    table: Table, index_name: str, conditions: list[tuple[str, DynamoType]]
) -> list[Item]:
    """The items with the queried index hash attributes and every index sort attribute (moto
    keeps exactly those, and checks them again). Sorted by the index keys then the table's: moto
    sorts them again by the same attributes, a key no two items share, so the order it answers in
    does not depend on this one, which only spares its sort most of its comparisons."""
    schema = table.get_index(index_name).schema
    hashes = [key["AttributeName"] for key in schema if key["KeyType"] == "HASH"]
    ranges = [key["AttributeName"] for key in schema if key["KeyType"] == "RANGE"]
    order = [*hashes, *ranges, table.hash_key_attr, *filter(None, [table.range_key_attr])]
    if len(conditions) == 1 and conditions[0][1].type in _PLAIN:
        # A string or binary DynamoType equals one of its type with the same value: comparing
        # those skips its (costly) cast to a Python value on every item of the table.
        name, expected = conditions[0]
        kind, raw = expected.type, expected.value
        matches = [
            item
            for item in _each_item(table)
            if (value := item.attrs.get(name)) is not None
            and value.value == raw
            and value.type == kind
            and all(other in item.attrs for other in ranges)
        ]
    else:
        matches = [
            item
            for item in _each_item(table)
            if all(
                (value := item.attrs.get(name)) is not None and value == expected
                for name, expected in conditions
            )
            and all(other in item.attrs for other in ranges)
        ]

    def key(item: Item) -> tuple[Any, ...]:
        values = [item.attrs.get(name) for name in order]
        return tuple((v is not None, _value(v)) for v in values)

    matches.sort(key=key)
    return matches


def _candidates(table: Table, arguments: dict[str, Any]) -> Callable[[], list[Item]] | None:
    if arguments.get("index_name"):
        conditions = arguments.get("hash_key_conditions")
        if not conditions:
            return None
        return lambda: _index_matches(table, arguments["index_name"], list(conditions))
    hash_key = arguments.get("hash_key")
    if not isinstance(hash_key, DynamoType):
        return None
    return lambda: _partition(table, hash_key)


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    try:
        arguments = _SIGNATURE.bind(self, *args, **kwargs).arguments
    except TypeError:
        return _ORIGINAL_QUERY(self, *args, **kwargs)
    candidates = _candidates(self, arguments)
    if candidates is None:
        return _ORIGINAL_QUERY(self, *args, **kwargs)
    outer = getattr(_hint, "value", None)
    _hint.value = (self, candidates)
    try:
        return _ORIGINAL_QUERY(self, *args, **kwargs)
    finally:
        _hint.value = outer


def _all_items(self: Table) -> list[Item]:
    hint = getattr(_hint, "value", None)
    if hint is not None and hint[0] is self:
        _hint.value = None  # the first call only: the one that builds the candidates
        candidates: list[Item] = hint[1]()
        return candidates
    return _ORIGINAL_ALL_ITEMS(self)


def install() -> None:
    """Idempotent."""
    setattr(Table, "query", _query)  # noqa: B010 - a method of moto's class
    setattr(Table, "all_items", _all_items)  # noqa: B010


def uninstall() -> None:
    setattr(Table, "query", _ORIGINAL_QUERY)  # noqa: B010
    setattr(Table, "all_items", _ORIGINAL_ALL_ITEMS)  # noqa: B010
