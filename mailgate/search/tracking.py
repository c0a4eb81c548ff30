"""Mail tracking search: the tracking store's day buckets of one tenant, direction and type,
paged by the generic pager with the search filters applied."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import JsonValue

from mailgate.catalog import Direction, TrackingType
from mailgate.records import TrackingRow
from mailgate.search.matching import RowFilter
from mailgate.search.pager import CursorState, Page, parse_time_token, read_page, time_token
from mailgate.search.period import Period
from mailgate.storage.tracking import TimePosition, TrackingStore


@dataclass(frozen=True)
class TrackingQuery:
    tenant_id: str
    direction: Direction
    type: TrackingType
    sort: Literal["asc", "desc"]
    limit: int
    filter: RowFilter = field(default_factory=RowFilter)


def _token(position: TimePosition) -> JsonValue:
    return time_token(position.time, position.message_uuid, position.recipient)


def _position(token: JsonValue, day: date) -> TimePosition:
    time, (message_uuid, recipient) = parse_time_token(token, day, ids=2)
    return TimePosition(time, message_uuid, recipient)


@dataclass(frozen=True)
class _TrackingRows:
    """The rows of one tenant, direction and type, as the pager's row source."""

    store: TrackingStore
    query: TrackingQuery

    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[TrackingRow], JsonValue]:
        rows, more = self.store.rows_by_time(
            self.query.tenant_id,
            self.query.direction,
            self.query.type,
            day,
            period.start,
            period.end,
            newest_first,
            limit,
            None if resume is None else _position(resume, day),
        )
        return rows, None if more is None else _token(more)

    def resume_after(self, row: TrackingRow) -> JsonValue:
        return _token(TimePosition.of(row))


def search(store: TrackingStore, query: TrackingQuery, start: CursorState) -> Page[TrackingRow]:
    return read_page(
        _TrackingRows(store, query), start, query.sort == "desc", query.limit, query.filter.matches
    )
