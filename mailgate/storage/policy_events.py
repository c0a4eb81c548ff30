"""Policy events in the ``policy`` table: one item per detection, partition key
``<tenant>#E#<event id>``, listed by time per tenant, direction and UTC day (kind ``event``).
An event expires 90 days after its message was received."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any

from mailgate.policy.records import PolicyEvent
from mailgate.storage import feed
from mailgate.storage.day_index import DayIndexedStore, RecordKeys


class PolicyEventStore(DayIndexedStore[PolicyEvent]):
    model = PolicyEvent
    prefix = "E"
    kind = "event"

    def _keys(self, record: PolicyEvent) -> RecordKeys:
        return RecordKeys(
            record.tenant_id, record.event_id, record.direction, record.time, record.received_at
        )

    def _item(self, record: PolicyEvent) -> dict[str, Any]:
        return super()._item(record) | feed.feed_keys(record.tenant_id, feed.EVENT, record.event_id)

    def written(
        self, tenant_id: str, day: date, after: str, upto: str
    ) -> Iterator[tuple[str, PolicyEvent]]:
        """The tenant's events written on ``day`` after the feed position ``after``, up to
        ``upto``, in the order written (``mailgate.storage.feed``)."""
        for position, item in feed.written_items(self._table, tenant_id, day, after, upto):
            yield position, self._record(item)

    def add(self, events: Iterable[PolicyEvent]) -> None:
        """Each event is written once: its id is derived from what stage 2 detected, so a
        repeated scan writes nothing new."""
        for event in events:
            self._put_new(event)

    def event(self, tenant_id: str, event_id: str) -> PolicyEvent | None:
        return self._get(tenant_id, event_id)

    def events(self, tenant_id: str, event_ids: Iterable[str]) -> list[PolicyEvent]:
        """The tenant's unexpired events of these ids (in no set order); an id of another
        tenant's event finds nothing."""
        return self._get_many(tenant_id, event_ids)
