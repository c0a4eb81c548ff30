"""Export tasks as stored: a tenant's own tasks, newest first, without storage fields."""

from __future__ import annotations

import time

from mailgate import aws, resources
from mailgate.api.models import ExportTask
from mailgate.catalog import ExportStatus
from mailgate.storage.exports import ExportStore
from tests.integration.conftest import Gateway


def test_a_tenant_lists_its_own_export_tasks_newest_first(gateway: Gateway) -> None:
    # Given two tasks of one tenant and one of another, as the table holds them
    table = aws.table(resources.EXPORTS.local_name)
    expires = int(time.time()) + 86400
    for tenant, created_at, task_id, task_status in [
        ("lister", "2025-06-15T09:00:00.000000Z", "t-1", "complete"),
        ("lister", "2025-06-15T10:00:00.000000Z", "t-2", "processing"),
        ("other-lister", "2025-06-15T11:00:00.000000Z", "t-3", "complete"),
    ]:
        table.put_item(
            Item={
                "pk": f"{tenant}#TASKS",
                "sk": f"{created_at}#{task_id}",
                "expires_at": expires,
                "task_id": task_id,
                "created_at": created_at,
                "status": task_status,
                "rows": 12,
            }
        )

    # When the tenant's tasks are read
    tasks = ExportStore(resources.EXPORTS.local_name).tasks("lister")

    # Then they are its own, newest first, as the API describes them
    assert tasks == [
        ExportTask(
            task_id="t-2",
            created_at="2025-06-15T10:00:00.000000Z",
            status=ExportStatus.PROCESSING,
            rows=12,
        ),
        ExportTask(
            task_id="t-1",
            created_at="2025-06-15T09:00:00.000000Z",
            status=ExportStatus.COMPLETE,
            rows=12,
        ),
    ]
