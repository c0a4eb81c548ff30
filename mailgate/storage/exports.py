"""Export tasks of a tenant (item ``<tenant>#TASKS`` / ``<created_at>#<task id>``)."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Key

from mailgate import aws
from mailgate.api.models import ExportTask


class ExportStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def tasks(self, tenant_id: str) -> list[ExportTask]:
        table: Any = aws.table(self._table_name)
        response = table.query(
            KeyConditionExpression=Key("pk").eq(f"{tenant_id}#TASKS"), ScanIndexForward=False
        )
        return [ExportTask.model_validate(item) for item in response.get("Items", [])]
