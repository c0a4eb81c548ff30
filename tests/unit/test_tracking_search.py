"""Tracking search over a fake tracking store: the store is read one day bucket at a time in
domain terms, a page resumes from the position of its last row, and a resume token that is not
such a position (a cursor of an older layout) is refused as ``invalid_cursor``."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from mailgate.api.errors import BadRequest
from mailgate.catalog import Direction, TrackingType
from mailgate.records import TrackingRow
from mailgate.search.matching import RowFilter
from mailgate.search.pager import CursorState
from mailgate.search.period import Period
from mailgate.search.tracking import TrackingQuery, search
from mailgate.storage.tracking import TimePosition, TrackingStore

TENANT = "tenant-a"
DAY = date(2025, 6, 15)
NOON = datetime(2025, 6, 15, 12, tzinfo=UTC)
PERIOD = Period(NOON - timedelta(hours=1), NOON + timedelta(hours=1))
QUERY = TrackingQuery(TENANT, Direction.INBOUND, TrackingType.ACCEPTED, sort="desc", limit=1)


def row(minute: int, recipient: str) -> TrackingRow:
    return TrackingRow(
        tenant_id=TENANT,
        message_uuid=f"m-{minute}",
        recipient=recipient,
        time=NOON + timedelta(minutes=minute),
        direction=Direction.INBOUND,
        sender="alice@sender.example",
        sender_ip="192.0.2.1",
    )


class FakeTracking(TrackingStore):
    def __init__(self, rows: list[TrackingRow]) -> None:
        self.rows = rows  # newest first
        self.calls: list[tuple[Any, ...]] = []

    def rows_by_time(
        self,
        tenant_id: str,
        direction: Direction,
        type: TrackingType,
        day: date,
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: TimePosition | None = None,
    ) -> tuple[list[TrackingRow], TimePosition | None]:
        self.calls.append((tenant_id, direction, type, day, start, end, newest_first, after))
        positions = [TimePosition.of(r) for r in self.rows]
        rest = self.rows[positions.index(after) + 1 :] if after else self.rows
        return rest[:limit], None


def test_a_page_resumes_from_the_position_of_its_last_row() -> None:
    # Given two rows of the same instant, the newest one first
    store = FakeTracking([row(5, "bob@example.com"), row(5, "alice@example.com")])

    # When the first page of one row is read, then the page its cursor continues
    first = search(store, QUERY, CursorState(PERIOD))
    assert first.next is not None
    second = search(store, QUERY, first.next)

    # Then the store was asked for the tenant's day bucket in domain terms, and the second
    # read started just after the first page's row
    assert store.calls[0] == (
        TENANT,
        Direction.INBOUND,
        TrackingType.ACCEPTED,
        DAY,
        PERIOD.start,
        PERIOD.end,
        True,
        None,
    )
    assert store.calls[1][-1] == TimePosition(NOON + timedelta(minutes=5), "m-5", "bob@example.com")
    assert [r.recipient for r in first.rows + second.rows] == [
        "bob@example.com",
        "alice@example.com",
    ]


@pytest.mark.parametrize(
    "resume",
    [
        {"pk": "tenant-a#M#m-5", "sk": "R#bob@example.com"},
        "2025-06-15T12:05:00.000000Z#m-5#bob@example.com",
        ["2025-06-15T12:05:00.000000Z", "m-5"],
        ["not a time", "m-5", "bob@example.com"],
        ["2025-06-15T12:05:00", "m-5", "bob@example.com"],
        ["2025-06-14T12:05:00.000000Z", "m-5", "bob@example.com"],
        [1, "m-5", "bob@example.com"],
    ],
    ids=repr,
)
def test_a_resume_token_that_is_not_a_row_position_of_the_day_is_an_invalid_cursor(
    resume: Any,
) -> None:
    store = FakeTracking([row(5, "bob@example.com")])

    with pytest.raises(BadRequest) as caught:
        search(store, QUERY, CursorState(PERIOD, 0, resume))

    assert (caught.value.status, caught.value.code) == (400, "invalid_cursor")
    assert store.calls == []


class BrokenTracking(FakeTracking):
    def rows_by_index(self, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("the table did not answer")


def test_a_store_that_fails_is_an_error_never_an_empty_page() -> None:
    # Given a store whose index read fails, while its day buckets hold nothing
    store = BrokenTracking([])
    query = TrackingQuery(
        TENANT,
        Direction.INBOUND,
        TrackingType.ACCEPTED,
        sort="desc",
        limit=10,
        filter=RowFilter(senders=("alice@sender.example",)),
    )

    # Then a search by sender fails instead of answering "nothing found"
    with pytest.raises(ConnectionError):
        search(store, query, CursorState(PERIOD))
