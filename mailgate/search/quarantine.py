"""Quarantine search: the messages of one tenant and direction that are still quarantined,
paged by the generic pager (newest quarantined first by default)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mailgate.catalog import Direction, ThreatType
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.ports import DayPosition, QuarantineIndex
from mailgate.search.day_records import DayRecords
from mailgate.search.matching import MessageFilter
from mailgate.search.pager import CursorState, Page, read_page


@dataclass(frozen=True)
class QuarantineFilter:
    message: MessageFilter = field(default_factory=MessageFilter)
    reasons: frozenset[ThreatType] = frozenset()
    rule_names: frozenset[str] = frozenset()  # lower-case

    def matches(self, entry: QuarantineEntry) -> bool:
        """Released and deleted messages have left the quarantine: they never match."""
        if entry.state is not QuarantineState.QUARANTINED:
            return False
        if self.reasons and entry.threat_type not in self.reasons:
            return False
        if self.rule_names and entry.rule_name.lower() not in self.rule_names:
            return False
        return self.message.matches(entry)


@dataclass(frozen=True)
class QuarantineQuery:
    tenant_id: str
    direction: Direction
    sort: Literal["asc", "desc"]
    limit: int
    filter: QuarantineFilter = field(default_factory=QuarantineFilter)


def _position(entry: QuarantineEntry) -> DayPosition:
    return DayPosition(entry.time, entry.message_uuid)


def search(
    store: QuarantineIndex, query: QuarantineQuery, start: CursorState
) -> Page[QuarantineEntry]:
    source = DayRecords(store, query.tenant_id, query.direction, _position)
    return read_page(source, start, query.sort == "desc", query.limit, query.filter.matches)
