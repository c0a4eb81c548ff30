"""Repairing the index items of tracking rows: rows written before their index items existed, or
whose items are missing or stale (a crash between the row and its items, a failed rewrite when
the row became final), are made findable by the selective searches again.

An operator runs it per tenant over the retention period, or from a day on. Every day bucket of
each direction and type is read a page of rows at a time, and each row is given the items the
store builds for it (``TrackingIndex.reindex_day``); nothing is removed. Running it twice, or
again after an interruption, writes only what is still missing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mailgate.audit import AuditEntry, operator
from mailgate.catalog import Direction, TrackingType
from mailgate.ports import AuditLog, Reindexed, TrackingIndex
from mailgate.resources import RETENTION_DAYS

ACTION = "tracking.reindex"


@dataclass(frozen=True)
class DayBucket:
    """One day of one tenant's rows of a direction and type: the unit progress is told in."""

    tenant_id: str
    direction: Direction
    type: TrackingType
    day: date


def days(since: date | None, today: date) -> list[date]:
    """The days to read, oldest first: from ``since`` (at most the retention period back) to
    ``today``."""
    first = today - timedelta(days=RETENTION_DAYS)
    if since is not None:
        if since > today:
            raise ValueError(f"--since {since.isoformat()} is after today ({today.isoformat()}).")
        first = max(first, since)
    return [first + timedelta(days=n) for n in range((today - first).days + 1)]


def reindex_tenant(
    index: TrackingIndex,
    tenant_id: str,
    since: date | None,
    today: date,
    write: bool,
    progress: Callable[[DayBucket, Reindexed], None] = lambda bucket, page: None,
) -> Reindexed:
    """Repair the index items of the tenant's rows from ``since`` to ``today``; ``progress``
    is told the count of every page read."""
    total = Reindexed()
    for day in days(since, today):
        for direction in Direction:
            for type in TrackingType:
                bucket = DayBucket(tenant_id, direction, type, day)
                for page in index.reindex_day(tenant_id, direction, type, day, write):
                    total.add(page)
                    progress(bucket, page)
    return total


def record(
    audit: AuditLog,
    tenant_id: str,
    operator_name: str,
    since: date | None,
    done: Reindexed,
    now: datetime,
) -> None:
    """Write the tenant's audit row of a run that wrote items (a run that found every item as
    it should be, or a dry run, changed nothing)."""
    if not done.written:
        return
    audit.add(
        AuditEntry(
            tenant_id=tenant_id,
            time=now,
            actor=operator(operator_name),
            actor_kind="operator",
            action=ACTION,
            target="tracking index items",
            details={
                "since": since.isoformat() if since else None,
                "rows": done.rows,
                "written": done.written,
                "correct": done.correct,
            },
        )
    )
