"""Reconciliation: every accepted row of a period accounted for — final, retrying, held for a
person, dead-lettered or in flight — and the rows that are none of these.

A row is in flight while some job can still move it. A job is received at most
``max_receive_count`` times, a visibility timeout apart, before its last run marks the row
``dead_lettered`` or SQS moves it to the dead-letter queue; so a row still ``processing`` longer
after it was received than a scan job and a deliver job can live, or still ``temporary_error``
that long after its retry was due, has no job that will move it: it is unaccounted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from mailgate.catalog import FINAL_STATUSES, Status
from mailgate.records import TrackingRow
from mailgate.resources import DELIVER_QUEUE, SCAN_QUEUE, Queue


def job_lifetime(queue: Queue) -> timedelta:
    """The longest a job of ``queue`` is received again before it is dead-lettered."""
    return timedelta(seconds=queue.max_receive_count * queue.visibility_timeout_s)


PROCESSING_BOUND = job_lifetime(SCAN_QUEUE) + job_lifetime(DELIVER_QUEUE)
RETRY_GRACE = job_lifetime(DELIVER_QUEUE)
HELD = frozenset({Status.QUARANTINED, Status.SANDBOX, Status.PASSWORD_ANALYSIS})


class Standing(StrEnum):
    FINAL = "final"
    RETRYING = "retrying"
    HELD = "held"  # waits for a person (quarantine) or an analysis
    DEAD_LETTERED = "dead_lettered"
    IN_FLIGHT = "in_flight"  # processing, its job still alive
    UNACCOUNTED = "unaccounted"


def standing(row: TrackingRow, now: datetime) -> tuple[Standing, str]:
    """Where a row stands, and for an unaccounted one why."""
    status = row.status or Status.PROCESSING
    if status in FINAL_STATUSES:
        return Standing.FINAL, ""
    if status in HELD:
        return Standing.HELD, ""
    if status is Status.DEAD_LETTERED:
        return Standing.DEAD_LETTERED, ""
    if status is Status.TEMPORARY_ERROR:
        if row.next_attempt_at is None:
            return Standing.UNACCOUNTED, "temporary_error without a next attempt"
        if now - row.next_attempt_at > RETRY_GRACE:
            return Standing.UNACCOUNTED, "its retry was due and never ran"
        return Standing.RETRYING, ""
    if now - row.time > PROCESSING_BOUND:
        return Standing.UNACCOUNTED, "processing longer than any job of a stage lives"
    return Standing.IN_FLIGHT, ""


@dataclass
class Reconciliation:
    accepted: int = 0
    final: Counter[Status] = field(default_factory=Counter)
    held: Counter[Status] = field(default_factory=Counter)
    retrying: int = 0
    next_attempt_soonest: datetime | None = None
    next_attempt_latest: datetime | None = None
    dead_lettered: int = 0
    in_flight: int = 0
    unaccounted: list[tuple[TrackingRow, str]] = field(default_factory=list)
    truncated: bool = False  # more rows than a reconciliation reads


def reconcile(rows: Iterable[TrackingRow], now: datetime, max_rows: int) -> Reconciliation:
    """Accounts for at most ``max_rows`` rows."""
    found = Reconciliation()
    for row in rows:
        if found.accepted == max_rows:
            found.truncated = True
            break
        found.accepted += 1
        where, why = standing(row, now)
        status = row.status or Status.PROCESSING
        if where is Standing.FINAL:
            found.final[status] += 1
        elif where is Standing.HELD:
            found.held[status] += 1
        elif where is Standing.DEAD_LETTERED:
            found.dead_lettered += 1
        elif where is Standing.IN_FLIGHT:
            found.in_flight += 1
        elif where is Standing.RETRYING and row.next_attempt_at is not None:
            found.retrying += 1
            due = row.next_attempt_at
            found.next_attempt_soonest = min(due, found.next_attempt_soonest or due)
            found.next_attempt_latest = max(due, found.next_attempt_latest or due)
        else:
            found.unaccounted.append((row, why))
    return found
