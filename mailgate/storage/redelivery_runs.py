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
        """Those the run has taken, but for failed ones (a resumed run tries them again)."""
        keys = [
            {"pk": _pk(run_id), "sk": _message_sk(tenant_id, uuid)}
            for uuid in dict.fromkeys(message_uuids)
        ]
        return {
            item["message_uuid"]
            for item in items_at(self._table, keys, ConsistentRead=True)
            if item.get("outcome") != "failed"
        }

    def add(self, run_id: str, tenant_id: str, message_uuids: list[str]) -> None:
        for message_uuid in message_uuids:
            # Creates the item (a failed one is queued again), or keeps the outcome a fast
            # worker recorded first.
            self._update(
                run_id,
                tenant_id,
                message_uuid,
                "SET tenant_id = :t, message_uuid = :m, #e = :e REMOVE outcome, reason",
                {},
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
