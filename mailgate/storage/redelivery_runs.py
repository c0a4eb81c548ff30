"""Re-delivery runs in the audit table: partition ``REDELIVERY#<run id>`` (upper case, so never
a tenant's), the run under sort key ``RUN`` and each message it took under
``M#<tenant>#<message uuid>``; kept as long as the audit trail."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.conditions import Attr, Key
from botocore.exceptions import ClientError

from mailgate import aws
from mailgate.audit import AUDIT_RETENTION
from mailgate.clock import utcnow
from mailgate.redelivery_records import RedeliveryRun, RunMessage
from mailgate.resources import EXPIRES_AT
from mailgate.storage.day_index import conditional_failed, items_at

RUN_SK = "RUN"


def _pk(run_id: str) -> str:
    return f"REDELIVERY#{run_id}"


def _message_sk(tenant_id: str, message_uuid: str) -> str:
    return f"M#{tenant_id}#{message_uuid}"


class RedeliveryRunStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def put_run(self, run: RedeliveryRun) -> None:
        self._table.put_item(
            Item={
                "pk": _pk(run.run_id),
                "sk": RUN_SK,
                "run": run.model_dump_json(),
                EXPIRES_AT: int((run.created_at + AUDIT_RETENTION).timestamp()),
            },
            ConditionExpression=Attr("pk").not_exists(),
        )

    def run(self, run_id: str) -> RedeliveryRun | None:
        item = self._table.get_item(Key={"pk": _pk(run_id), "sk": RUN_SK}, ConsistentRead=True).get(
            "Item"
        )
        return None if item is None else RedeliveryRun.model_validate_json(item["run"])

    def known(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> set[str]:
        """Those the run has done (but for failed ones, which a resumed run tries again)."""
        keys = [
            {"pk": _pk(run_id), "sk": _message_sk(tenant_id, uuid)}
            for uuid in dict.fromkeys(message_uuids)
        ]
        return {
            item["message_uuid"]
            for item in items_at(self._table, keys, ConsistentRead=True)
            if item.get("outcome") not in (None, "", "failed")
        }

    def add(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> None:
        """Record the messages as queued, before their job is sent (so no worker has recorded
        an outcome yet, and a failed one is to be tried again)."""
        expires = int((utcnow() + AUDIT_RETENTION).timestamp())
        with self._table.batch_writer() as batch:
            for message_uuid in dict.fromkeys(message_uuids):
                batch.put_item(
                    Item={
                        "pk": _pk(run_id),
                        "sk": _message_sk(tenant_id, message_uuid),
                        "tenant_id": tenant_id,
                        "message_uuid": message_uuid,
                        EXPIRES_AT: expires,
                    }
                )

    def record(
        self, run_id: str, tenant_id: str, message_uuid: str, outcome: str, reason: str = ""
    ) -> None:
        self._update(
            run_id,
            tenant_id,
            message_uuid,
            "SET tenant_id = :t, message_uuid = :m, #e = :e, outcome = :o, reason = :r",
            {":o": outcome, ":r": reason},
        )

    def _update(
        self,
        run_id: str,
        tenant_id: str,
        message_uuid: str,
        expression: str,
        values: dict[str, str],
    ) -> None:
        """Change a message's item unless an outcome other than ``failed`` is recorded."""
        try:
            self._table.update_item(
                Key={"pk": _pk(run_id), "sk": _message_sk(tenant_id, message_uuid)},
                UpdateExpression=expression,
                ConditionExpression=Attr("outcome").not_exists() | Attr("outcome").eq("failed"),
                ExpressionAttributeNames={"#e": EXPIRES_AT},
                ExpressionAttributeValues={
                    ":t": tenant_id,
                    ":m": message_uuid,
                    ":e": int((utcnow() + AUDIT_RETENTION).timestamp()),
                    **values,
                },
            )
        except ClientError as error:
            if not conditional_failed(error):
                raise

    def progress(self, run_id: str) -> tuple[int, int]:
        """How many of the run's messages are done, of how many (counted by the table)."""
        return self._count(run_id, done=True), self._count(run_id, done=False)

    def _count(self, run_id: str, done: bool) -> int:
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(run_id)) & Key("sk").begins_with("M#"),
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        if done:
            request["FilterExpression"] = Attr("outcome").exists()
        counted = 0
        while True:
            response = self._table.query(**request)
            counted += int(response["Count"])
            if "LastEvaluatedKey" not in response:
                return counted
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def messages(self, run_id: str) -> list[RunMessage]:
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(_pk(run_id)) & Key("sk").begins_with("M#"),
            "ConsistentRead": True,
        }
        found: list[RunMessage] = []
        while True:
            response = self._table.query(**request)
            found.extend(
                RunMessage.model_validate(
                    {name: item[name] for name in RunMessage.model_fields if name in item}
                )
                for item in response.get("Items", [])
            )
            if "LastEvaluatedKey" not in response:
                return found
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
