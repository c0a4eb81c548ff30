"""Policy event search: the events of one tenant and direction, paged by the generic pager
with the search filters of seed 000 applied (one row per message and detection)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

from mailgate.api.models import EventSearch
from mailgate.catalog import MAX_PAGE_SIZE, Direction, ThreatType
from mailgate.policy.records import PolicyEvent
from mailgate.ports import DayPosition, PolicyEventLog
from mailgate.search.day_records import DayRecords
from mailgate.search.matching import MessageFilter
from mailgate.search.pager import BATCH, BULK_BATCH, CursorState, Page, read_page
from mailgate.search.period import Period


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


def _threats(request: EventSearch) -> dict[ThreatType, frozenset[str]]:
    """Each threat type asked for and what narrows it; a type asked for twice, once without
    subtypes, means all of it."""
    threats: dict[ThreatType, frozenset[str]] = {}
    for threat in request.threats:
        narrowed = frozenset(threat.subtypes)
        known = threats.get(threat.type)
        threats[threat.type] = (
            narrowed if known is None else (known | narrowed if known and narrowed else frozenset())
        )
    return threats


def query_of(tenant_id: str, request: EventSearch) -> EventQuery:
    """The query a search request asks for."""
    return EventQuery(
        tenant_id=tenant_id,
        direction=request.direction,
        sort=request.sort,
        limit=request.limit,
        filter=EventFilter(
            message=MessageFilter(
                senders=tuple(request.senders),
                recipients=tuple(request.recipients),
                header_from=tuple(request.header_from),
                header_to=tuple(request.header_to),
                subject=request.subject,
                message_id=request.message_id,
            ),
            rule_names=frozenset(name.lower() for name in request.rule_names),
            threats=_threats(request),
            threat_name=request.threat_name,
        ),
    )


def _position(event: PolicyEvent) -> DayPosition:
    return DayPosition(event.time, event.event_id)


def search(
    store: PolicyEventLog, query: EventQuery, start: CursorState, batch: int = BATCH
) -> Page[PolicyEvent]:
    source = DayRecords(store, query.tenant_id, query.direction, _position)
    return read_page(source, start, query.sort == "desc", query.limit, query.filter.matches, batch)


def all_events(store: PolicyEventLog, query: EventQuery, period: Period) -> Iterator[PolicyEvent]:
    """Every event of the query in ``period``, page after page of the biggest size, as they are
    read (``BULK_BATCH`` a query, as ``tracking.all_rows`` does): memory holds one page."""
    start: CursorState | None = CursorState(period)
    page_query = replace(query, limit=MAX_PAGE_SIZE)
    while start is not None:
        page = search(store, page_query, start, BULK_BATCH)
        yield from page.rows
        start = page.next
