"""The queries table: each tenant's saved tracking searches and its last searches.

One partition per tenant (``pk`` = the tenant id): ``SAVED#<name, case-folded>`` per saved
query, ``RECENT#<digest of the body>`` per recent search, and ``COUNT`` (``n``: how many saved
queries there are). Saving and deleting change the query and the count in one transaction, so
two administrators saving at once never pass the limit together.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from boto3.dynamodb.conditions import Key

from mailgate import aws
from mailgate.clock import iso, parse_iso
from mailgate.search.saved import MAX_RECENT, MAX_SAVED, StoredQuery, name_key

_SAVED = "SAVED#"
_RECENT = "RECENT#"
_COUNT = "COUNT"


class Saved(StrEnum):
    SAVED = "saved"
    NAME_TAKEN = "name_taken"
    FULL = "full"


def _query_of(item: dict[str, Any]) -> StoredQuery:
    return StoredQuery(
        name=item.get("name", ""), body=json.loads(item["body"]), at=parse_iso(item["at"])
    )


class SavedQueryStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def _count_update(self, tenant_id: str, step: int) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self._table_name,
            "Key": {"pk": {"S": tenant_id}, "sk": {"S": _COUNT}},
            "UpdateExpression": "ADD n :step",
            "ExpressionAttributeValues": {":step": {"N": str(step)}},
        }
        if step > 0:
            update["ConditionExpression"] = "attribute_not_exists(n) OR n < :most"
            update["ExpressionAttributeValues"][":most"] = {"N": str(MAX_SAVED)}
        return {"Update": update}

    def save(self, tenant_id: str, query: StoredQuery) -> Saved:
        """Keep ``query`` under its name, unless the name is taken or the tenant has
        ``MAX_SAVED`` queries already."""
        item = {
            "pk": {"S": tenant_id},
            "sk": {"S": _SAVED + name_key(query.name)},
            "name": {"S": query.name},
            "body": {"S": json.dumps(query.body, ensure_ascii=False)},
            "at": {"S": iso(query.at)},
        }
        put = {
            "Put": {
                "TableName": self._table_name,
                "Item": item,
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        try:
            aws.transact_write([self._count_update(tenant_id, 1), put])
        except aws.ConditionFailed as failed:
            return Saved.FULL if failed.index == 0 else Saved.NAME_TAKEN
        return Saved.SAVED

    def delete(self, tenant_id: str, name: str) -> bool:
        """Forget the saved query of that name; False if there was none."""
        delete = {
            "Delete": {
                "TableName": self._table_name,
                "Key": {"pk": {"S": tenant_id}, "sk": {"S": _SAVED + name_key(name)}},
                "ConditionExpression": "attribute_exists(pk)",
            }
        }
        try:
            aws.transact_write([delete, self._count_update(tenant_id, -1)])
        except aws.ConditionFailed:
            return False
        return True

    def remember(self, tenant_id: str, query: StoredQuery, digest: str) -> None:
        """Keep a search among the tenant's recent ones (the same search again only moves to
        the top), then drop all but the newest ``MAX_RECENT``."""
        self._table.put_item(
            Item={
                "pk": tenant_id,
                "sk": _RECENT + digest,
                "body": json.dumps(query.body, ensure_ascii=False),
                "at": iso(query.at),
            }
        )
        kept = self._items(tenant_id, _RECENT)
        kept.sort(key=lambda item: (item["at"], item["sk"]), reverse=True)
        for item in kept[MAX_RECENT:]:
            self._table.delete_item(Key={"pk": tenant_id, "sk": item["sk"]})

    def saved(self, tenant_id: str) -> list[StoredQuery]:
        """The tenant's saved queries, by name."""
        found = [_query_of(item) for item in self._items(tenant_id, _SAVED)]
        return sorted(found, key=lambda query: name_key(query.name))

    def recent(self, tenant_id: str) -> list[StoredQuery]:
        """The tenant's last searches, newest first."""
        found = [_query_of(item) for item in self._items(tenant_id, _RECENT)]
        return sorted(found, key=lambda query: query.at, reverse=True)[:MAX_RECENT]

    def _items(self, tenant_id: str, prefix: str) -> list[dict[str, Any]]:
        request: dict[str, Any] = {
            "KeyConditionExpression": Key("pk").eq(tenant_id) & Key("sk").begins_with(prefix),
            "ConsistentRead": True,
        }
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]
