"""Reconciliation: where each accepted row stands, and which rows no job will move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from mailgate.catalog import Direction, Status
from mailgate.records import TrackingRow
from mailgate.search.reconcile import PROCESSING_BOUND, RETRY_GRACE, Standing, reconcile, standing

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def row(status: Status, age: timedelta = timedelta(minutes=5), **fields: Any) -> TrackingRow:
    return TrackingRow(
        tenant_id="t",
        message_uuid=f"u-{status}-{age}",
        recipient="bob@example.com",
        time=NOW - age,
        direction=Direction.INBOUND,
        sender="a@sender.test",
        sender_ip="192.0.2.1",
        status=status,
        **fields,
    )


def test_the_bounds_come_from_the_queues_declared_redrive() -> None:
    # scan and deliver: 5 receives each, 720 s apart
    assert timedelta(hours=2) == PROCESSING_BOUND
    assert timedelta(hours=1) == RETRY_GRACE


def test_each_status_stands_where_a_person_would_expect() -> None:
    soon = NOW + timedelta(minutes=5)
    assert standing(row(Status.DELIVERED), NOW)[0] is Standing.FINAL
    assert standing(row(Status.EXPIRED), NOW)[0] is Standing.FINAL
    assert standing(row(Status.QUARANTINED, timedelta(days=9)), NOW)[0] is Standing.HELD
    assert standing(row(Status.DEAD_LETTERED, timedelta(days=3)), NOW)[0] is Standing.DEAD_LETTERED
    assert standing(row(Status.TEMPORARY_ERROR, next_attempt_at=soon), NOW)[0] is Standing.RETRYING
    assert standing(row(Status.PROCESSING), NOW)[0] is Standing.IN_FLIGHT


def test_processing_longer_than_any_job_lives_is_unaccounted() -> None:
    just_in = row(Status.PROCESSING, PROCESSING_BOUND)
    stuck = row(Status.PROCESSING, PROCESSING_BOUND + timedelta(seconds=1))

    assert standing(just_in, NOW)[0] is Standing.IN_FLIGHT
    assert standing(stuck, NOW) == (
        Standing.UNACCOUNTED,
        "processing longer than any job of a stage lives",
    )


def test_a_retry_long_overdue_or_missing_is_unaccounted() -> None:
    overdue = NOW - RETRY_GRACE - timedelta(seconds=1)
    late_but_alive = NOW - RETRY_GRACE

    assert standing(row(Status.TEMPORARY_ERROR, next_attempt_at=overdue), NOW)[0] is (
        Standing.UNACCOUNTED
    )
    assert standing(row(Status.TEMPORARY_ERROR, next_attempt_at=late_but_alive), NOW)[0] is (
        Standing.RETRYING
    )
    assert standing(row(Status.TEMPORARY_ERROR), NOW)[0] is Standing.UNACCOUNTED


def test_a_period_is_counted_by_standing_with_the_retry_times() -> None:
    first, last = NOW + timedelta(minutes=1), NOW + timedelta(minutes=30)
    rows = [
        row(Status.DELIVERED),
        row(Status.DELIVERED, timedelta(minutes=6)),
        row(Status.BOUNCED),
        row(Status.TEMPORARY_ERROR, next_attempt_at=last),
        row(Status.TEMPORARY_ERROR, timedelta(minutes=7), next_attempt_at=first),
        row(Status.DEAD_LETTERED),
        row(Status.QUARANTINED),
        row(Status.PROCESSING),
        row(Status.PROCESSING, timedelta(hours=3)),
    ]

    found = reconcile(rows, NOW, max_rows=100)

    assert found.accepted == 9
    assert found.final == {Status.DELIVERED: 2, Status.BOUNCED: 1}
    assert (found.retrying, found.next_attempt_soonest, found.next_attempt_latest) == (
        2,
        first,
        last,
    )
    assert (found.dead_lettered, found.in_flight) == (1, 1)
    assert found.held == {Status.QUARANTINED: 1}
    assert [(r.status, r.time) for r, _ in found.unaccounted] == [
        (Status.PROCESSING, NOW - timedelta(hours=3))
    ]
    assert not found.truncated


def test_a_reconciliation_reads_at_most_its_cap() -> None:
    found = reconcile((row(Status.DELIVERED) for _ in range(5)), NOW, max_rows=3)

    assert (found.accepted, found.truncated) == (3, True)
