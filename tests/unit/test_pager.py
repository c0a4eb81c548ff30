"""The day-bucket pager over an in-memory row source: every row once, in order, across days
and pages; a page stops within its budget and the next one resumes exactly after the last row
read; a cursor state it did not write is refused as ``invalid_cursor``."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from pydantic import JsonValue

from mailgate.api.errors import BadRequest
from mailgate.search import pager
from mailgate.search.pager import CursorState, InvalidResume, Page, read_page
from mailgate.search.period import Period

DAY_1 = datetime(2025, 6, 13, tzinfo=UTC)
PERIOD = Period(DAY_1 + timedelta(hours=6), DAY_1 + timedelta(days=2, hours=18))


@dataclass(frozen=True)
class Row:
    time: datetime
    name: str


class FakeSource:
    """Rows in memory, read like a key-range query: at most ``limit`` per read, and a token to
    go on whenever a read stopped at its limit (even if nothing is left, as DynamoDB does)."""

    def __init__(self, rows: list[Row]) -> None:
        self.rows = sorted(rows, key=lambda row: (row.time, row.name))
        self.reads: list[tuple[date, JsonValue]] = []

    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[Row], JsonValue]:
        self.reads.append((day, resume))
        ordered = [
            row
            for row in self.rows
            if row.time.date() == day and period.start <= row.time <= period.end
        ]
        if newest_first:
            ordered.reverse()
        if resume is not None:
            names = [row.name for row in ordered]
            if resume not in names:
                raise InvalidResume(resume)
            ordered = ordered[names.index(str(resume)) + 1 :]
        batch = ordered[:limit]
        return batch, batch[-1].name if len(batch) == limit else None

    def resume_after(self, row: Row) -> JsonValue:
        return row.name


def every(_row: Row) -> bool:
    return True


def rows_on(day: int, count: int, prefix: str = "") -> list[Row]:
    start = DAY_1 + timedelta(days=day, hours=8)
    return [Row(start + timedelta(minutes=n), f"{prefix}d{day}-{n:03}") for n in range(count)]


def all_pages(
    source: FakeSource,
    newest_first: bool,
    limit: int,
    keep: Callable[[Row], bool] = every,
) -> list[Page[Row]]:
    """Pages until the last, each cursor state passed through JSON as a signed cursor is."""
    pages = [read_page(source, CursorState(PERIOD), newest_first, limit, keep)]
    while (state := pages[-1].next) is not None:
        restored = CursorState.from_json(json.loads(json.dumps(state.to_json())))
        pages.append(read_page(source, restored, newest_first, limit, keep))
    return pages


def names(pages: list[Page[Row]]) -> list[str]:
    return [row.name for page in pages for row in page.rows]


def test_newest_first_pages_return_every_row_once_across_days() -> None:
    # Given rows on the first and last day of the period and none on the day between
    rows = rows_on(0, 4) + rows_on(2, 5)
    source = FakeSource(rows)

    # When it is paged newest first, three rows a page
    pages = all_pages(source, newest_first=True, limit=3)

    # Then every row comes once, newest first, and only the last page has no cursor
    assert names(pages) == [row.name for row in reversed(rows)]
    assert [len(page.rows) for page in pages] == [3, 3, 3]
    assert all(page.next is not None for page in pages[:-1])


def test_oldest_first_pages_return_the_same_rows_in_the_other_order() -> None:
    rows = rows_on(0, 4) + rows_on(1, 2) + rows_on(2, 5)

    pages = all_pages(FakeSource(rows), newest_first=False, limit=4)

    assert names(pages) == [row.name for row in rows]


def test_a_period_without_rows_is_one_empty_page() -> None:
    source = FakeSource([])

    pages = all_pages(source, newest_first=True, limit=10)

    assert [page.rows for page in pages] == [[]]
    assert [day for day, _ in source.reads] == [date(2025, 6, 15), date(2025, 6, 14), DAY_1.date()]


def test_rows_outside_the_period_are_left_to_the_source() -> None:
    early = Row(DAY_1 + timedelta(hours=1), "before-the-period")

    pages = all_pages(FakeSource([early, *rows_on(0, 2)]), newest_first=False, limit=10)

    assert names(pages) == ["d0-000", "d0-001"]


def test_a_full_page_resumes_just_after_its_last_row(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given batches of 5 rows and a page of 3, which stops in the middle of a batch
    monkeypatch.setattr(pager, "BATCH", 5)
    source = FakeSource(rows_on(1, 12))

    # When the first page is read
    first = read_page(source, CursorState(PERIOD), True, 3, every)

    # Then its cursor resumes after its last row, on the same day
    assert first.next == CursorState(PERIOD, 1, first.rows[-1].name)
    second = read_page(source, first.next, True, 3, every)
    assert second.rows[0].time < first.rows[-1].time
    assert source.reads[-1] == (date(2025, 6, 14), "d1-009")


def test_the_read_budget_stops_a_page_mid_batch_and_the_next_resumes_exactly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a filter that keeps one row in four, and a page allowed to read 7 rows in batches of 5
    monkeypatch.setattr(pager, "ROWS_READ_PER_PAGE", 7)
    monkeypatch.setattr(pager, "BATCH", 5)
    rows = rows_on(0, 10) + rows_on(2, 10)

    def keep(row: Row) -> bool:
        return row.name.endswith(("0", "4", "8"))

    # When it is paged oldest first with room for more rows than the budget finds
    pages = all_pages(FakeSource(rows), newest_first=False, limit=100, keep=keep)

    # Then the first page stops at its seventh row read, in the middle of the second batch
    assert pages[0].next == CursorState(PERIOD, 0, "d0-006")
    # and the pages together give each kept row once, in order
    assert names(pages) == [row.name for row in rows if keep(row)]


def test_the_query_budget_stops_a_page_of_empty_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pager, "QUERIES_PER_PAGE", 2)

    pages = all_pages(FakeSource(rows_on(2, 1)), newest_first=False, limit=10)

    assert [page.rows for page in pages[:1]] == [[]]
    assert pages[0].next == CursorState(PERIOD, 2, None)
    assert names(pages) == ["d2-000"]
    # the empty page says how far it searched (oldest first: up to the day not yet read), and
    # the last page, which ended the period, says nothing
    assert pages[0].searched_until == DAY_1 + timedelta(days=2)
    assert pages[-1].searched_until is None


class TimedSource(FakeSource):
    """``FakeSource`` with resume tokens that carry their row's time, as the stores' do."""

    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[Row], JsonValue]:
        name = None if resume is None else pager.parse_time_token(resume, day, ids=1)[1][0]
        rows, more = super().read(day, period, newest_first, limit, name)
        return rows, None if more is None else self.resume_after(rows[-1])

    def resume_after(self, row: Row) -> JsonValue:
        return pager.time_token(row.time, row.name)


def test_a_page_stopped_by_its_read_budget_says_how_far_it_searched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pager, "ROWS_READ_PER_PAGE", 4)
    rows = rows_on(0, 2) + rows_on(2, 5)
    source = TimedSource(rows)
    wanted = rows[0]  # the oldest row only

    pages = all_pages(source, newest_first=True, limit=3, keep=lambda row: row == wanted)

    # The first page read four rows of the last day, found none, and says it searched up to
    # the last one it read: the rows from that instant on are those it read, no others
    first = pages[0]
    assert (first.rows, first.next is not None) == ([], True)
    assert first.searched_until is not None
    assert [row for row in rows if row.time >= first.searched_until] == rows[-4:]
    # Paging on finds the row, and a page that ends the period is complete
    assert names(pages) == [wanted.name]
    assert pages[-1].searched_until is None


def test_as_of_is_kept_across_pages_and_never_later_than_the_period() -> None:
    as_of = PERIOD.end - timedelta(seconds=30)
    source = FakeSource(rows_on(0, 4))
    first = read_page(source, CursorState(PERIOD, as_of=as_of), True, 2, every)

    assert first.next is not None
    restored = CursorState.from_json(json.loads(json.dumps(first.next.to_json())))
    assert restored.complete_until == as_of
    assert CursorState(PERIOD, as_of=PERIOD.end + timedelta(days=1)).complete_until == PERIOD.end


def test_a_batch_that_ends_the_day_exactly_moves_on_to_the_next_day(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pager, "BATCH", 3)
    source = FakeSource(rows_on(0, 3) + rows_on(1, 3))

    pages = all_pages(source, newest_first=False, limit=3)

    assert names(pages) == [f"d{day}-{n:03}" for day in (0, 1) for n in range(3)]


def test_a_resume_token_the_source_did_not_make_is_an_invalid_cursor() -> None:
    start = CursorState(PERIOD, 0, "a-row-it-never-had")

    with pytest.raises(BadRequest) as caught:
        read_page(FakeSource(rows_on(2, 3)), start, True, 10, every)

    assert (caught.value.status, caught.value.code) == (400, "invalid_cursor")


def test_a_cursor_state_survives_json() -> None:
    state = CursorState(PERIOD, 2, ["2025-06-15T08:00:00.000000Z", "m-1", "a@example.com"])

    assert CursorState.from_json(json.loads(json.dumps(state.to_json()))) == state


GOOD: dict[str, Any] = CursorState(PERIOD, 1, "d1-003").to_json()


@pytest.mark.parametrize(
    "state",
    [
        None,
        [],
        "day 1",
        {},
        {**GOOD, "day": -1},
        {**GOOD, "day": "1"},
        {**GOOD, "day": 1.5},
        {**GOOD, "start": "yesterday"},
        {**GOOD, "start": "2025-06-13T06:00:00"},
        {**GOOD, "start": GOOD["end"], "end": GOOD["start"]},
        {key: value for key, value in GOOD.items() if key != "resume"},
        # the layout before the pager: the store's own key as "key"
        {
            "start": GOOD["start"],
            "end": GOOD["end"],
            "day": 0,
            "key": {"pk": "t#M#m-1", "sk": "R#a@x", "gsi1pk": "t#inbound", "gsi1sk": "x"},
        },
    ],
    ids=repr,
)
def test_a_malformed_or_older_cursor_state_is_an_invalid_cursor(state: Any) -> None:
    with pytest.raises(BadRequest) as caught:
        CursorState.from_json(state)

    assert (caught.value.status, caught.value.code) == (400, "invalid_cursor")
