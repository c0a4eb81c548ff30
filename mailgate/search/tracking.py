"""Mail tracking search: key-range queries over day buckets, newest (or oldest) first.

A page reads day buckets in order from where the cursor stopped; the cursor holds the resolved
period (so "24h" does not slide between pages), the day reached and the position of the last
row read, so paging resumes exactly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from typing import Any, Literal

from mailgate.catalog import Direction, TrackingType
from mailgate.clock import iso, parse_iso
from mailgate.records import TrackingRow
from mailgate.search.cursor import invalid_cursor
from mailgate.search.matching import RowFilter
from mailgate.search.period import Period
from mailgate.storage.tracking import TimePosition, TrackingStore

# Bounds on one page's work, so a request's cost stays bounded whatever the period and the
# filters; a page that reaches one returns what it found with a cursor to go on.
QUERIES_PER_PAGE = 200
ROWS_READ_PER_PAGE = 5000
BATCH = 200


@dataclass(frozen=True)
class TrackingQuery:
    tenant_id: str
    direction: Direction
    type: TrackingType
    period: Period
    sort: Literal["asc", "desc"]
    limit: int
    filter: RowFilter = field(default_factory=RowFilter)


@dataclass(frozen=True)
class Page:
    rows: list[TrackingRow]
    state: dict[str, Any] | None  # where the next page starts; None when nothing is left


def _days(period: Period, newest_first: bool) -> list[date]:
    first, last = period.start.date(), period.end.date()
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return days[::-1] if newest_first else days


def _token(position: TimePosition) -> list[str]:
    return [iso(position.time), position.message_uuid, position.recipient]


def _position(token: Any, day: date) -> TimePosition:
    match token:
        case [str(time), str(message_uuid), str(recipient)]:
            try:
                moment = parse_iso(time)
            except ValueError as error:
                raise invalid_cursor() from error
            if moment.tzinfo is None or moment.astimezone(UTC).date() != day:
                raise invalid_cursor()
            return TimePosition(moment, message_uuid, recipient)
    raise invalid_cursor()


def initial_state(period: Period) -> dict[str, Any]:
    return {"start": iso(period.start), "end": iso(period.end), "day": 0, "key": None}


def period_of(state: dict[str, Any]) -> Period:
    return Period(parse_iso(state["start"]), parse_iso(state["end"]))


def search(store: TrackingStore, query: TrackingQuery, state: dict[str, Any]) -> Page:
    newest_first = query.sort == "desc"
    days = _days(query.period, newest_first)
    rows: list[TrackingRow] = []
    day, key = int(state["day"]), state["key"]
    read = 0
    for _ in range(QUERIES_PER_PAGE):
        if day >= len(days) or len(rows) >= query.limit or read >= ROWS_READ_PER_PAGE:
            break
        batch, more = store.rows_by_time(
            query.tenant_id,
            query.direction,
            query.type,
            days[day],
            query.period.start,
            query.period.end,
            newest_first,
            BATCH,
            None if key is None else _position(key, days[day]),
        )
        stopped_at = None
        for row in batch:
            read += 1
            if query.filter.matches(row):
                rows.append(row)
            if len(rows) >= query.limit or read >= ROWS_READ_PER_PAGE:
                stopped_at = row
                break
        if stopped_at is not None and (stopped_at is not batch[-1] or more):
            key = _token(TimePosition.of(stopped_at))
        elif more:
            key = _token(more)
        else:
            day, key = day + 1, None
    if day >= len(days):
        return Page(rows, None)
    return Page(rows, {**state, "day": day, "key": key})
