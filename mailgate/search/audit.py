"""Reading a tenant's audit trail: a period of up to the year entries are kept, filtered by
actor and action, paged by the generic pager (newest first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from pydantic import JsonValue

from mailgate.api.errors import BadRequest
from mailgate.audit import AUDIT_RETENTION, AuditEntry
from mailgate.ports import DayPosition
from mailgate.search import period as periods
from mailgate.search.pager import CursorState, Page, parse_time_token, read_page, time_token
from mailgate.search.period import Period


class AuditTrail(Protocol):
    def by_day(
        self,
        tenant_id: str,
        day: date,
        start: datetime,
        end: datetime,
        newest_first: bool,
        limit: int,
        after: DayPosition | None = None,
    ) -> tuple[list[AuditEntry], DayPosition | None]: ...


@dataclass(frozen=True)
class AuditFilter:
    actor: str | None = None  # exact, case-insensitive
    action: str | None = None  # exact, or a prefix ending in "." ("quarantine.")

    def matches(self, entry: AuditEntry) -> bool:
        if self.actor and entry.actor.lower() != self.actor.lower():
            return False
        if self.action:
            if self.action.endswith("."):
                return entry.action.startswith(self.action)
            return entry.action == self.action
        return True


@dataclass(frozen=True)
class _Days:
    store: AuditTrail
    tenant_id: str

    def read(
        self, day: date, period: Period, newest_first: bool, limit: int, resume: JsonValue
    ) -> tuple[list[AuditEntry], JsonValue]:
        after = None
        if resume is not None:
            time, (entry_id,) = parse_time_token(resume, day, ids=1)
            after = DayPosition(time, entry_id)
        rows, more = self.store.by_day(
            self.tenant_id, day, period.start, period.end, newest_first, limit, after
        )
        return rows, None if more is None else time_token(*more)

    def resume_after(self, row: AuditEntry) -> JsonValue:
        return time_token(row.time, row.entry_id)


def audit_period(
    preset: str | None, start: datetime | None, end: datetime | None, now: datetime
) -> Period:
    """A preset as for searches, or a range inside the year the trail is kept."""
    if start is None and end is None:
        return periods.resolve(preset or "7d", now)
    if start is None or end is None or preset is not None:
        raise BadRequest("invalid_period", "Give a period preset, or both start and end.")
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest("invalid_period", "start and end must include a UTC offset, e.g. 'Z'.")
    if end <= start:
        raise BadRequest("invalid_period", "end must be later than start.")
    if start < now - AUDIT_RETENTION:
        raise BadRequest(
            "period_out_of_retention",
            f"The audit trail is kept {AUDIT_RETENTION.days} days: start after "
            f"{(now - AUDIT_RETENTION).isoformat(timespec='seconds')}.",
        )
    return Period(start, min(end, now))


def search(
    store: AuditTrail, tenant_id: str, where: AuditFilter, start: CursorState, limit: int
) -> Page[AuditEntry]:
    return read_page(_Days(store, tenant_id), start, True, limit, where.matches)
