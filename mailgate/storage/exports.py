"""Export tasks of a tenant: items ``<tenant>#TASKS`` / ``<created_at>#<task id>``, so a
tenant's tasks are one partition, newest first."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from mailgate import aws
from mailgate.api.models import ExportTask


def _tasks_pk(tenant_id: str) -> str:
    return f"{tenant_id}#TASKS"


def _task_of(item: dict[str, Any]) -> ExportTask:
    return ExportTask.model_validate(
        {name: item[name] for name in ExportTask.model_fields if name in item}
    )


class ExportStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def tasks(self, tenant_id: str) -> list[ExportTask]:
        table: Any = aws.table(self._table_name)
        response = table.query(
            KeyConditionExpression=Key("pk").eq(_tasks_pk(tenant_id)), ScanIndexForward=False
        )
        return [_task_of(item) for item in response.get("Items", [])]
