"""A store of day-bucketed records with one item per record (policy events, the quarantine
index) as the pager's row source: one tenant and direction, positions ``(time, id)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from pydantic import JsonValue

from mailgate.catalog import Direction
from mailgate.ports import ByTime, DayPosition
from mailgate.search.pager import parse_time_token, time_token
from mailgate.search.period import Period

R = TypeVar("R")


@dataclass(frozen=True)
class DayRecords(Generic[R]):
    store: ByTime[R]
    tenant_id: str
    direction: Direction
    position_of: Callable[[R], DayPosition]

    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[R], JsonValue]:
        after = None
        if resume is not None:
            time, (record_id,) = parse_time_token(resume, day, ids=1)
            after = DayPosition(time, record_id)
        rows, more = self.store.by_time(
            self.tenant_id,
            self.direction,
            day,
            period.start,
            period.end,
            newest_first,
            limit,
            after,
        )
        return rows, None if more is None else time_token(*more)

    def resume_after(self, row: R) -> JsonValue:
        return time_token(*self.position_of(row))
