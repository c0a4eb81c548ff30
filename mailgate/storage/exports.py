"""Export tasks and the daily export quota.

A tenant's tasks are one partition, ``<tenant>#TASKS``, sorted by ``<created_at>#<task id>``,
so they list newest first. The quota of a tenant and UTC day is one counter item,
``<tenant>#QUOTA#<day>``, taken by a conditional addition: two requests racing for the last
slot cannot both win. Both expire by TTL.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from mailgate import aws
from mailgate.catalog import ExportStatus
from mailgate.clock import iso, parse_iso, utcnow
from mailgate.records import ExportTaskRecord
from mailgate.resources import EXPIRES_AT

_QUOTA_SK = "quota"
# A day's counter outlives its day, so a request at 23:59:59 UTC still finds it.
_QUOTA_KEPT = timedelta(days=2)


def _tasks_pk(tenant_id: str) -> str:
    return f"{tenant_id}#TASKS"


def _task_key(tenant_id: str, created_at: datetime, task_id: str) -> dict[str, str]:
    return {"pk": _tasks_pk(tenant_id), "sk": f"{iso(created_at)}#{task_id}"}


def _quota_key(tenant_id: str, day: date) -> dict[str, str]:
    return {"pk": f"{tenant_id}#QUOTA#{day.isoformat()}", "sk": _QUOTA_SK}


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


def _task_item(task: ExportTaskRecord) -> dict[str, Any]:
    item = task.model_dump(mode="json", exclude_none=True)
    item.update(
        _task_key(task.tenant_id, task.created_at, task.task_id),
        created_at=iso(task.created_at),
        **{EXPIRES_AT: _epoch(task.expires_at)},
    )
    return item


def _task_of(item: dict[str, Any]) -> ExportTaskRecord:
    fields = {name: item[name] for name in ExportTaskRecord.model_fields if name in item}
    fields["created_at"] = parse_iso(item["created_at"])
    fields[EXPIRES_AT] = datetime.fromtimestamp(int(item[EXPIRES_AT]), UTC)
    for count in ("rows", "rows_written"):
        if count in item:
            fields[count] = int(item[count])
    return ExportTaskRecord.model_validate(fields)


def _conditional_failed(error: ClientError) -> bool:
    return error.response["Error"]["Code"] == "ConditionalCheckFailedException"


class ExportStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def tasks(self, tenant_id: str) -> list[ExportTaskRecord]:
        """The tenant's unexpired tasks, newest first."""
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_tasks_pk(tenant_id)),
            "FilterExpression": Attr(EXPIRES_AT).gt(_epoch(utcnow())),
            "ScanIndexForward": False,
        }
        tasks: list[ExportTaskRecord] = []
        while True:
            response = self._table.query(**request)
            tasks.extend(_task_of(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return tasks
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def task(self, tenant_id: str, task_id: str) -> ExportTaskRecord | None:
        """One of the tenant's tasks (a partition of at most a week of tasks, read whole)."""
        return next((task for task in self.tasks(tenant_id) if task.task_id == task_id), None)

    def create(self, task: ExportTaskRecord) -> None:
        self._table.put_item(Item=_task_item(task), ConditionExpression=Attr("pk").not_exists())

    def finish(
        self,
        task: ExportTaskRecord,
        status: ExportStatus,
        *,
        rows: int | None = None,
        truncated: bool = False,
        reason: str | None = None,
    ) -> bool:
        """Move a task still ``processing`` to ``status``; False if it was already finished (a
        redelivered job)."""
        values: dict[str, Any] = {"status": status.value, "truncated": truncated}
        if rows is not None:
            values["rows"] = rows
        if reason is not None:
            values["reason"] = reason
        names = {f"#{n}": name for n, name in enumerate(values)}
        placeholders = {f":{n}": value for n, value in enumerate(values.values())}
        try:
            self._table.update_item(
                Key=_task_key(task.tenant_id, task.created_at, task.task_id),
                UpdateExpression="SET " + ", ".join(f"#{n} = :{n}" for n in range(len(values))),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=placeholders,
                ConditionExpression=Attr("status").eq(ExportStatus.PROCESSING.value),
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def progress(self, task: ExportTaskRecord, rows_written: int) -> None:
        """Record how many rows a task still processing has written so far."""
        try:
            self._table.update_item(
                Key=_task_key(task.tenant_id, task.created_at, task.task_id),
                UpdateExpression="SET rows_written = :n",
                ConditionExpression=Attr("status").eq(ExportStatus.PROCESSING.value),
                ExpressionAttributeValues={":n": rows_written},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def take_quota(self, tenant_id: str, day: date, per_day: int) -> bool:
        """Count one export of ``day``, unless ``per_day`` were counted already (False)."""
        expires = datetime.combine(day, time(), UTC) + _QUOTA_KEPT
        try:
            self._table.update_item(
                Key=_quota_key(tenant_id, day),
                UpdateExpression="ADD n :one SET #expires = :expires",
                ConditionExpression=Attr("n").not_exists() | Attr("n").lt(per_day),
                ExpressionAttributeNames={"#expires": EXPIRES_AT},
                ExpressionAttributeValues={":one": 1, ":expires": _epoch(expires)},
            )
        except ClientError as error:
            if _conditional_failed(error):
                return False
            raise
        return True

    def give_back_quota(self, tenant_id: str, day: date) -> None:
        """Uncount one export of ``day`` (a task that failed on our side)."""
        try:
            self._table.update_item(
                Key=_quota_key(tenant_id, day),
                UpdateExpression="ADD n :minus_one",
                ConditionExpression=Attr("n").gt(0),
                ExpressionAttributeValues={":minus_one": -1},
            )
        except ClientError as error:
            if not _conditional_failed(error):
                raise

    def quota_used(self, tenant_id: str, day: date) -> int:
        item = self._table.get_item(Key=_quota_key(tenant_id, day), ConsistentRead=True).get("Item")
        return int(item["n"]) if item else 0
