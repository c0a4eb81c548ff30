"""Export tasks and the daily quota as stored: a tenant's own tasks, newest first; a task
finishes once; the quota counter stops at its limit and starts afresh each UTC day."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

from mailgate import resources
from mailgate.catalog import ExportStatus
from mailgate.records import ExportTaskRecord
from mailgate.storage.exports import ExportStore
from tests.integration.conftest import Gateway


def _task(tenant_id: str, created_at: datetime) -> ExportTaskRecord:
    file_name = f"{uuid.uuid4()}.csv.zip"
    return ExportTaskRecord(
        tenant_id=tenant_id,
        task_id=str(uuid.uuid4()),
        created_at=created_at,
        format="csv",
        file_name=file_name,
        object_key=f"{tenant_id}/exports/{file_name}",
        quota_day=created_at.date(),
        expires_at=created_at + timedelta(days=7),
    )


def test_a_tenant_lists_its_own_export_tasks_newest_first(gateway: Gateway) -> None:
    # Given two tasks of one tenant and one of another
    store = ExportStore(resources.EXPORTS.local_name)
    now = datetime.now(UTC).replace(microsecond=0)  # expiry is kept to the second (TTL)
    older, newer = _task("lister", now - timedelta(hours=1)), _task("lister", now)
    theirs = _task("other-lister", now)
    for task in (older, newer, theirs):
        store.create(task)

    # When the tenant's tasks are read
    tasks = store.tasks("lister")

    # Then they are its own, newest first, as they were stored
    assert tasks == [newer, older]
    assert store.task("lister", theirs.task_id) is None
    assert store.task("other-lister", theirs.task_id) == theirs


def test_a_task_finishes_once(gateway: Gateway) -> None:
    store = ExportStore(resources.EXPORTS.local_name)
    task = _task("finisher", datetime.now(UTC))
    store.create(task)

    assert store.finish(task, ExportStatus.COMPLETE, rows=12, truncated=False)
    assert not store.finish(task, ExportStatus.FAILED, reason="late")

    stored = store.task("finisher", task.task_id)
    assert stored is not None
    assert (stored.status, stored.rows, stored.reason) == (ExportStatus.COMPLETE, 12, None)


def test_the_quota_counter_stops_at_its_limit_per_day(gateway: Gateway) -> None:
    store = ExportStore(resources.EXPORTS.local_name)
    day = date(2025, 6, 15)

    taken = [store.take_quota("counter", day, 2) for _ in range(3)]
    store.give_back_quota("counter", day)

    assert taken == [True, True, False]
    assert store.quota_used("counter", day) == 1
    assert store.quota_used("counter", day + timedelta(days=1)) == 0
    assert store.take_quota("counter", day + timedelta(days=1), 2)
