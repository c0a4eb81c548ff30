"""Mail tracking search: the rows of one tenant, direction and type, paged by the generic pager
with the search filters applied. A search with an exact-match field reads the most selective
index items it can (``index_keys.index_for``); any other reads the day buckets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from pydantic import JsonValue

from mailgate.api.models import TrackingSearch
from mailgate.catalog import MAX_PAGE_SIZE, Direction, TrackingType
from mailgate.records import TrackingRow
from mailgate.search.index_keys import IndexKey, index_for
from mailgate.search.matching import AttachmentFilter, RowFilter
from mailgate.search.pager import (
    BATCH,
    BULK_BATCH,
    CursorState,
    Page,
    RowSource,
    parse_time_token,
    read_page,
    time_token,
)
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


def query_of(tenant_id: str, request: TrackingSearch, limit: int | None = None) -> TrackingQuery:
    """The query a search request asks for (``limit`` rows a page, or the request's)."""
    return TrackingQuery(
        tenant_id=tenant_id,
        direction=request.direction,
        type=request.type,
        sort=request.sort,
        limit=request.limit if limit is None else limit,
        filter=RowFilter(
            senders=tuple(request.senders),
            recipients=tuple(request.recipients),
            header_from=tuple(request.header_from),
            header_to=tuple(request.header_to),
            sender_ip=request.sender_ip,
            upstream_tls=request.upstream_tls,
            statuses=frozenset(request.statuses),
            subject=request.subject,
            message_id=request.message_id,
            block_reasons=frozenset(request.block_reasons),
            delivered_to=request.delivered_to,
            downstream_tls=request.downstream_tls,
            downstream_dane=request.downstream_dane,
            downstream_mta_sts=request.downstream_mta_sts,
            attachments=AttachmentFilter(
                required=request.attachments_only,
                sha256=request.attachment_sha256,
                name=request.attachment_name,
                status=request.attachment_status,
                password_analysis=request.password_analysis,
            ),
        ),
    )


def _token(position: TimePosition) -> JsonValue:
    return time_token(position.time, position.message_uuid, position.recipient)


def _position(token: JsonValue, day: date | None) -> TimePosition:
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


@dataclass(frozen=True)
class _IndexedRows:
    """The rows found by index keys over the whole period, in one time order."""

    store: TrackingStore
    query: TrackingQuery
    keys: Sequence[IndexKey]

    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[TrackingRow], JsonValue]:
        rows, more = self.store.rows_by_index(
            self.query.tenant_id,
            self.query.direction,
            self.query.type,
            self.keys,
            period.start,
            period.end,
            newest_first,
            limit,
            None if resume is None else _position(resume, None),
        )
        return rows, None if more is None else _token(more)

    def resume_after(self, row: TrackingRow) -> JsonValue:
        return _token(TimePosition.of(row))


def search(
    store: TrackingStore, query: TrackingQuery, start: CursorState, batch: int = BATCH
) -> Page[TrackingRow]:
    """A page of the query's rows. Every filter is applied to what is read, the index's own
    field included, so an index only decides how much is read."""
    keys = index_for(query.filter, query.direction)
    if keys is None:
        source: RowSource[TrackingRow] = _TrackingRows(store, query)
    else:
        source = _IndexedRows(store, query, keys)
    return read_page(
        source,
        start,
        query.sort == "desc",
        query.limit,
        query.filter.matches,
        batch,
        whole_period=keys is not None,
    )


def all_rows(store: TrackingStore, query: TrackingQuery, period: Period) -> Iterator[TrackingRow]:
    """Every row of the query in ``period``, page after page of the biggest size, as they are
    read: memory holds one page. Each query reads ``BULK_BATCH`` rows, not a search's
    ``BATCH``: a reader of every row is better served by fewer, larger reads."""
    start: CursorState | None = CursorState(period)
    page_query = TrackingQuery(
        query.tenant_id, query.direction, query.type, query.sort, MAX_PAGE_SIZE, query.filter
    )
    while start is not None:
        page = search(store, page_query, start, BULK_BATCH)
        yield from page.rows
        start = page.next
