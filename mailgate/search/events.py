"""Policy event search: the events of one tenant and direction, paged by the generic pager
with the search filters of seed 000 applied (one row per message and detection)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from mailgate.catalog import Direction, ThreatType
from mailgate.policy.records import PolicyEvent
from mailgate.ports import DayPosition, PolicyEventLog
from mailgate.search.day_records import DayRecords
from mailgate.search.matching import MessageFilter
from mailgate.search.pager import CursorState, Page, read_page


@dataclass(frozen=True)
class EventFilter:
    message: MessageFilter = field(default_factory=MessageFilter)
    rule_names: frozenset[str] = frozenset()  # lower-case
    # Threat types asked for, each with the subtypes or detection methods that narrow it
    # (none: every event of the type).
    threats: Mapping[ThreatType, frozenset[str]] = field(default_factory=dict)
    threat_name: str | None = None  # a part of the name, case-insensitive

    def matches(self, event: PolicyEvent) -> bool:
        if self.rule_names and event.rule_name.lower() not in self.rule_names:
            return False
        if self.threats:
            narrowed = self.threats.get(event.threat_type)
            if narrowed is None:
                return False
            if narrowed and not ({event.subtype, event.detection_method} & narrowed):
                return False
        if self.threat_name and self.threat_name.lower() not in event.threat_name.lower():
            return False
        return self.message.matches(event)


@dataclass(frozen=True)
class EventQuery:
    tenant_id: str
    direction: Direction
    sort: Literal["asc", "desc"]
    limit: int
    filter: EventFilter = field(default_factory=EventFilter)


def _position(event: PolicyEvent) -> DayPosition:
    return DayPosition(event.time, event.event_id)


def search(store: PolicyEventLog, query: EventQuery, start: CursorState) -> Page[PolicyEvent]:
    source = DayRecords(store, query.tenant_id, query.direction, _position)
    return read_page(source, start, query.sort == "desc", query.limit, query.filter.matches)
