"""Repairing tracking index items: which day buckets a run reads, what it reports, and when it
writes an audit row."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from mailgate.audit import AuditEntry
from mailgate.catalog import Direction, TrackingType
from mailgate.ports import Reindexed
from mailgate.resources import RETENTION_DAYS
from mailgate.tracking_reindex import ACTION, DayBucket, days, record, reindex_tenant

TODAY = date(2026, 6, 30)
NOW = datetime(2026, 6, 30, 12, tzinfo=UTC)


class FakeIndex:
    """Two pages for inbound accepted rows of the last day, one empty page elsewhere."""

    def __init__(self) -> None:
        self.read: list[tuple[str, Direction, TrackingType, date, bool]] = []

    def reindex_day(
        self, tenant_id: str, direction: Direction, type: TrackingType, day: date, write: bool
    ) -> Iterator[Reindexed]:
        self.read.append((tenant_id, direction, type, day, write))
        if (direction, type, day) == (Direction.INBOUND, TrackingType.ACCEPTED, TODAY):
            yield Reindexed(rows=100, written=700, correct=0)
            yield Reindexed(rows=3, written=2, correct=19)
        else:
            yield Reindexed()


class FakeAudit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


def test_the_whole_retention_period_is_read_by_default_oldest_day_first() -> None:
    found = days(None, TODAY)
    assert found[0] == TODAY - timedelta(days=RETENTION_DAYS)
    assert found[-1] == TODAY
    assert len(found) == RETENTION_DAYS + 1
    assert found == sorted(found)


def test_since_starts_later_but_never_before_the_retention_period() -> None:
    assert days(TODAY - timedelta(days=2), TODAY) == [
        TODAY - timedelta(days=2),
        TODAY - timedelta(days=1),
        TODAY,
    ]
    assert days(date(2020, 1, 1), TODAY) == days(None, TODAY)


def test_a_day_after_today_is_refused() -> None:
    with pytest.raises(ValueError, match="after today"):
        days(TODAY + timedelta(days=1), TODAY)


def test_every_bucket_of_every_day_is_read_and_every_page_counted() -> None:
    index = FakeIndex()
    told: list[tuple[DayBucket, Reindexed]] = []

    done = reindex_tenant(
        index, "acme", TODAY - timedelta(days=1), TODAY, True, lambda b, p: told.append((b, p))
    )

    assert done == Reindexed(rows=103, written=702, correct=19)
    # two days, each direction and type, written as asked
    assert len(index.read) == 2 * len(Direction) * len(TrackingType)
    assert {(d, t) for _, d, t, _, _ in index.read} == {
        (d, t) for d in Direction for t in TrackingType
    }
    assert {day for *_, day, _ in index.read} == {TODAY - timedelta(days=1), TODAY}
    assert all(write for *_, write in index.read)
    # one report per page, naming its bucket
    assert len(told) == len(index.read) + 1
    assert [page.rows for bucket, page in told if bucket.day == TODAY and page.rows] == [100, 3]


def test_a_dry_run_asks_the_store_to_write_nothing() -> None:
    index = FakeIndex()
    reindex_tenant(index, "acme", TODAY, TODAY, False)
    assert not any(write for *_, write in index.read)


def test_a_run_that_wrote_items_is_in_the_tenants_audit_trail() -> None:
    audit = FakeAudit()
    record(audit, "acme", "alice", TODAY, Reindexed(rows=5, written=7, correct=28), NOW)

    [entry] = audit.entries
    assert (entry.tenant_id, entry.actor, entry.actor_kind, entry.action) == (
        "acme",
        "operator alice",
        "operator",
        ACTION,
    )
    assert entry.details == {"since": "2026-06-30", "rows": 5, "written": 7, "correct": 28}


def test_a_run_that_found_everything_in_place_leaves_no_audit_row() -> None:
    audit = FakeAudit()
    record(audit, "acme", "alice", None, Reindexed(rows=5, written=0, correct=35), NOW)
    assert audit.entries == []
