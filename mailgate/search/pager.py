"""Paging through rows kept in day buckets, newest (or oldest) day first.

A page reads the days of a period in order from where the cursor stopped, one batch at a
time, keeping the rows a predicate accepts. The cursor state holds the resolved period (so
"24h" does not slide between pages), the day reached and a token the row source gave for the
last row read, so paging resumes exactly. Any store of day-bucketed rows pages this way by
being a ``RowSource``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Generic, Protocol, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, ValidationError

from mailgate.clock import iso, parse_iso
from mailgate.search.cursor import invalid_cursor
from mailgate.search.period import Period

# Bounds on one page's work, so a request's cost stays bounded whatever the period and the
# filters; a page that reaches one returns what it found with a cursor to go on.
QUERIES_PER_PAGE = 200
ROWS_READ_PER_PAGE = 5000
BATCH = 200
# Rows per query when reading every row (an export): about what one 1 MB DynamoDB answer holds.
BULK_BATCH = 1000

RowT = TypeVar("RowT")


class InvalidResume(ValueError):
    """A row source was given a resume token it did not make (a cursor of an older layout)."""


class RowSource(Protocol[RowT]):
    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[RowT], JsonValue]:
        """The rows of ``day`` inside ``period`` in reading order, after ``resume`` (None: from
        the start of the day), reading at most ``limit``; and the token to read on from, None
        when the day has no more. Raises ``InvalidResume`` for a token it did not make."""
        ...

    def resume_after(self, row: RowT) -> JsonValue:
        """The token that makes ``read`` go on just after ``row``."""
        ...


class _State(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: AwareDatetime
    end: AwareDatetime
    as_of: AwareDatetime | None
    day: Annotated[int, Field(strict=True, ge=0)]
    resume: JsonValue


@dataclass(frozen=True)
class CursorState:
    """Where a page starts: the period, the index of the day reached in reading order, and the
    token to resume that day from. ``as_of``: the instant up to which every record of the
    period was stored when the first page was read (the period's end by default)."""

    period: Period
    day: int = 0
    resume: JsonValue = None
    as_of: datetime | None = None

    @property
    def complete_until(self) -> datetime:
        return self.period.end if self.as_of is None else min(self.as_of, self.period.end)

    def to_json(self) -> dict[str, Any]:
        return {
            "start": iso(self.period.start),
            "end": iso(self.period.end),
            "as_of": None if self.as_of is None else iso(self.as_of),
            "day": self.day,
            "resume": self.resume,
        }

    @classmethod
    def from_json(cls, data: Any) -> CursorState:
        """The state a cursor carries; a malformed one, or one of an older layout, is an
        ``invalid_cursor`` error."""
        try:
            state = _State.model_validate(data)
        except ValidationError as error:
            raise invalid_cursor() from error
        if state.end < state.start:
            raise invalid_cursor()
        return cls(Period(state.start, state.end), state.day, state.resume, state.as_of)


@dataclass(frozen=True)
class Page(Generic[RowT]):
    rows: list[RowT]
    next: CursorState | None  # where the next page starts; None when nothing is left
    # Set when the page stopped at its read budget before finding ``limit`` rows: every
    # record later than this instant (earlier, oldest first) was searched, none beyond it.
    searched_until: datetime | None = None


def time_token(time: datetime, *ids: str) -> JsonValue:
    """A resume token for a row source whose days are ordered by time and then ids."""
    return [iso(time), *ids]


def parse_time_token(token: JsonValue, day: date | None, ids: int) -> tuple[datetime, list[str]]:
    """The time and ids of a ``time_token`` made for ``day`` (any, when None);
    ``InvalidResume`` otherwise."""
    if (
        isinstance(token, list)
        and len(token) == 1 + ids
        and all(isinstance(part, str) for part in token)
    ):
        time, *rest = token
        try:
            moment = parse_iso(str(time))
        except ValueError as error:
            raise InvalidResume(token) from error
        if moment.tzinfo is not None and day in (None, moment.astimezone(UTC).date()):
            return moment, [str(part) for part in rest]
    raise InvalidResume(token)


def days(period: Period, newest_first: bool) -> list[date]:
    first, last = period.start.date(), period.end.date()
    every = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return every[::-1] if newest_first else every


def _searched_until(
    period: Period, segment: date, resume: JsonValue, newest_first: bool, whole_period: bool
) -> datetime:
    """How far a page that stopped at ``segment`` and ``resume`` searched: the time of the
    resume position, else the edge of the segment not yet read."""
    if isinstance(resume, list) and resume and isinstance(resume[0], str):
        try:
            return parse_iso(resume[0])
        except ValueError:
            pass
    if whole_period:
        return period.end if newest_first else period.start
    midnight = datetime.combine(segment, datetime.min.time(), UTC)
    if newest_first:
        return min(period.end, midnight + timedelta(days=1))
    return max(period.start, midnight)


def read_page(
    source: RowSource[RowT],
    start: CursorState,
    newest_first: bool,
    limit: int,
    keep: Callable[[RowT], bool],
    batch: int = BATCH,
    whole_period: bool = False,
) -> Page[RowT]:
    """Rows ``keep`` accepts, up to ``limit``, reading at most ``batch`` at a time (and about
    what the page still needs). ``whole_period``: the source reads the period in one time
    order (an index), not day by day."""
    order = [start.period.start.date()] if whole_period else days(start.period, newest_first)
    rows: list[RowT] = []
    day, resume = start.day, start.resume
    read = 0
    for _ in range(QUERIES_PER_PAGE):
        if day >= len(order) or len(rows) >= limit or read >= ROWS_READ_PER_PAGE:
            break
        # One more than the page needs, so that a page ending the period ends it without a
        # cursor to an empty page; the extra row is read again by the next page.
        size = min(batch, limit - len(rows) + 1)
        try:
            rows_read, more = source.read(order[day], start.period, newest_first, size, resume)
        except InvalidResume as error:
            raise invalid_cursor() from error
        stopped_at = None
        for row in rows_read:
            read += 1
            if keep(row):
                rows.append(row)
            if len(rows) >= limit or read >= ROWS_READ_PER_PAGE:
                stopped_at = row
                break
        if stopped_at is not None and (stopped_at is not rows_read[-1] or more is not None):
            resume = source.resume_after(stopped_at)
        elif more is not None:
            resume = more
        else:
            day, resume = day + 1, None
    if day >= len(order):
        return Page(rows, None)
    next = CursorState(start.period, day, resume, start.as_of)
    if len(rows) >= limit:
        return Page(rows, next)
    return Page(
        rows, next, _searched_until(start.period, order[day], resume, newest_first, whole_period)
    )
