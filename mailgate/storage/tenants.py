"""Tenants, their configuration, managed domains and API keys.

Items: ``TENANT#<id>`` (profile under ``ITEM``, configuration under ``CONFIG``, one
``KEY#<key id>`` per API key listing it), ``DOMAIN#<domain>`` (owner and inbound servers, so
the SMTP front finds a recipient's tenant with one read), ``APIKEY#<sha256 of key>`` (tenant,
scopes, expiry, last use; the key itself is never stored, only its digest).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from boto3.dynamodb.conditions import Attr, ConditionBase, Key
from boto3.dynamodb.types import TypeSerializer
from botocore.exceptions import ClientError

from mailgate import aws
from mailgate.clock import iso
from mailgate.tenant_config import Domain, TenantConfig
from mailgate.tenants import (
    LAST_USED_RESOLUTION,
    ApiKey,
    Tenant,
    TenantStatus,
    key_digest,
    key_id_of,
)
from mailgate.ttl_cache import TtlCache

ITEM = "ITEM"
CONFIG = "CONFIG"
KEY_PREFIX = "KEY#"


def _serialized(values: dict[str, Any]) -> dict[str, Any]:
    serializer = TypeSerializer()
    return {name: serializer.serialize(value) for name, value in values.items()}


def _key_fields(key: ApiKey) -> dict[str, Any]:
    return key.model_dump(mode="json", exclude_none=True)


class TenantStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def _get(self, pk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(
            Key={"pk": pk, "sk": ITEM}, ConsistentRead=True
        ).get("Item")
        return item

    def put_tenant(self, tenant_id: str, name: str, at: datetime | None = None) -> bool:
        """Create the tenant unless it exists (an existing one, suspended or not, is kept);
        False if it existed."""
        tenant = Tenant(tenant_id=tenant_id, name=name, created_at=at)
        try:
            self._table.put_item(
                Item=tenant.model_dump(mode="json", exclude_none=True)
                | {"pk": f"TENANT#{tenant_id}", "sk": ITEM},
                ConditionExpression=Attr("pk").not_exists(),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def tenant(self, tenant_id: str) -> Tenant | None:
        item = self._get(f"TENANT#{tenant_id}")
        return Tenant.model_validate(item) if item else None

    def tenants(self) -> list[Tenant]:
        """Every tenant, by id: a scan of the tenants table, which holds a few items per
        tenant (an operator's listing, never a request's)."""
        found: list[Tenant] = []
        request: dict[str, Any] = {
            "FilterExpression": Attr("pk").begins_with("TENANT#") & Attr("sk").eq(ITEM)
        }
        while True:
            response = self._table.scan(**request)
            found.extend(Tenant.model_validate(item) for item in response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return sorted(found, key=lambda tenant: tenant.tenant_id)
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def set_status(self, tenant_id: str, status: TenantStatus) -> bool:
        """False if there is no such tenant."""
        try:
            self._table.update_item(
                Key={"pk": f"TENANT#{tenant_id}", "sk": ITEM},
                UpdateExpression="SET #s = :s",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":s": status.value},
                ConditionExpression=Attr("pk").exists(),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def delete_tenant(self, tenant_id: str, domains: list[str]) -> None:
        """The tenant's items, its keys and the routing items of ``domains`` it owns."""
        for key in self.api_keys(tenant_id):
            self.revoke_api_key(tenant_id, key.key_id)
        for name in domains:
            try:
                self._table.delete_item(
                    Key={"pk": f"DOMAIN#{name.lower()}", "sk": ITEM},
                    ConditionExpression=Attr("tenant_id").eq(tenant_id),
                )
            except ClientError as error:
                if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                    raise
        for item in self._partition(f"TENANT#{tenant_id}"):
            self._table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})

    def _partition(self, pk: str, sk_prefix: str = "") -> list[dict[str, Any]]:
        condition: ConditionBase = Key("pk").eq(pk)
        if sk_prefix:
            condition = condition & Key("sk").begins_with(sk_prefix)
        request: dict[str, Any] = {"KeyConditionExpression": condition, "ConsistentRead": True}
        items: list[dict[str, Any]] = []
        while True:
            response = self._table.query(**request)
            items.extend(response.get("Items", []))
            if "LastEvaluatedKey" not in response:
                return items
            request["ExclusiveStartKey"] = response["LastEvaluatedKey"]

    def domain(self, name: str) -> Domain | None:
        item = self._get(f"DOMAIN#{name.lower()}")
        if item is None:
            return None
        for server in item.get("inbound_servers", []):
            server["port"] = int(server["port"])
        return Domain.model_validate(item)

    def put_api_key(self, api_key: str, key: ApiKey) -> ApiKey:
        """Store the key's digest and the tenant's listing of it, together; storing the same
        key again replaces both. Returns the key as stored (with its id)."""
        digest = key_digest(api_key)
        key = key.model_copy(update={"key_id": key_id_of(digest)})
        fields = _key_fields(key)
        aws.transact_write(
            [
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": _serialized(fields | {"pk": f"APIKEY#{digest}", "sk": ITEM}),
                    }
                },
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": _serialized(
                            fields
                            | {
                                "pk": f"TENANT#{key.tenant_id}",
                                "sk": f"{KEY_PREFIX}{key.key_id}",
                                "digest": digest,
                            }
                        ),
                    }
                },
            ]
        )
        return key

    def api_key(self, api_key: str) -> ApiKey | None:
        item = self._get(f"APIKEY#{key_digest(api_key)}")
        return ApiKey.model_validate(item) if item else None

    def api_keys(self, tenant_id: str) -> list[ApiKey]:
        """The tenant's keys with their last use (kept on the digest's item), oldest first."""
        listed = self._partition(f"TENANT#{tenant_id}", KEY_PREFIX)
        keys = [{"pk": f"APIKEY#{item['digest']}", "sk": ITEM} for item in listed]
        found: dict[str, ApiKey] = {}
        for start in range(0, len(keys), 100):
            request = {self._table_name: {"Keys": keys[start : start + 100]}}
            while request:
                response = self._table.meta.client.batch_get_item(RequestItems=request)
                for item in response["Responses"].get(self._table_name, []):
                    key = ApiKey.model_validate(item)
                    found[key.key_id] = key
                request = response.get("UnprocessedKeys") or {}
        return sorted(
            found.values(), key=lambda key: (key.created_at is not None, key.created_at, key.name)
        )

    def revoke_api_key(self, tenant_id: str, key_id: str) -> bool:
        """False if the tenant has no key with this id."""
        listed = self._partition(f"TENANT#{tenant_id}", f"{KEY_PREFIX}{key_id}")
        if not listed:
            return False
        (item,) = listed
        self._table.delete_item(Key={"pk": f"APIKEY#{item['digest']}", "sk": ITEM})
        self._table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
        return True

    def touch_api_key(self, api_key: str, at: datetime) -> None:
        """Record that the key was used at ``at``, unless a use within the last minute is
        recorded already (then nothing is written), or the key is gone."""
        try:
            self._table.update_item(
                Key={"pk": f"APIKEY#{key_digest(api_key)}", "sk": ITEM},
                UpdateExpression="SET last_used_at = :at",
                ExpressionAttributeValues={":at": iso(at)},
                ConditionExpression=Attr("pk").exists()
                & (
                    Attr("last_used_at").not_exists()
                    | Attr("last_used_at").lt(iso(at - LAST_USED_RESOLUTION))
                ),
            )
        except ClientError as error:
            if error.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise


class ConfigConflict(Exception):
    """The configuration changed since the version the writer read."""


class ConfigTooLarge(Exception):
    """The configuration does not fit in one item (DynamoDB's 400 KB, less the domain items'
    share of the transaction)."""


# What one configuration item may hold, in bytes of its JSON form.
MAX_CONFIG_BYTES = 350_000


class DomainTaken(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(f"domain {name} is managed by another tenant")
        self.name = name


class TenantConfigStore:
    """A tenant's configuration (``TENANT#<id>`` / ``CONFIG``, versioned) and the domain items
    that route mail to it, written together in one transaction: never half-applied."""

    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    def get(self, tenant_id: str) -> tuple[TenantConfig, int]:
        item = (
            aws.table(self._table_name)
            .get_item(Key={"pk": f"TENANT#{tenant_id}", "sk": CONFIG}, ConsistentRead=True)
            .get("Item")
        )
        if item is None:
            return TenantConfig(), 0
        return TenantConfig.model_validate_json(item["config"]), int(item["version"])

    def put(self, tenant_id: str, config: TenantConfig, expected_version: int) -> int:
        document = config.model_dump_json()
        if len(document.encode()) > MAX_CONFIG_BYTES:
            raise ConfigTooLarge(tenant_id)
        previous, version = self.get(tenant_id)
        if version != expected_version:
            raise ConfigConflict(tenant_id)
        item = _serialized
        kept = {domain.name for domain in config.domains}
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table_name,
                    "Item": item(
                        {
                            "pk": f"TENANT#{tenant_id}",
                            "sk": CONFIG,
                            "config": document,
                            "version": version + 1,
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk) OR version = :v",
                    "ExpressionAttributeValues": {":v": {"N": str(version)}},
                }
            }
        ]
        for domain in config.domains:
            routing = Domain(
                name=domain.name,
                tenant_id=tenant_id,
                inbound_servers=domain.inbound_servers,
                outbound=domain.outbound.enabled,
            )
            actions.append(
                {
                    "Put": {
                        "TableName": self._table_name,
                        "Item": item(
                            routing.model_dump(mode="json")
                            | {"pk": f"DOMAIN#{domain.name}", "sk": ITEM}
                        ),
                        "ConditionExpression": "attribute_not_exists(pk) OR tenant_id = :t",
                        "ExpressionAttributeValues": {":t": {"S": tenant_id}},
                    }
                }
            )
        for gone in {d.name for d in previous.domains} - kept:
            actions.append(
                {
                    "Delete": {
                        "TableName": self._table_name,
                        "Key": item({"pk": f"DOMAIN#{gone}", "sk": ITEM}),
                        "ConditionExpression": "tenant_id = :t",
                        "ExpressionAttributeValues": {":t": {"S": tenant_id}},
                    }
                }
            )
        try:
            aws.transact_write(actions)
        except aws.ConditionFailed as failed:
            if failed.index == 0:
                raise ConfigConflict(tenant_id) from failed
            if failed.index <= len(config.domains):
                raise DomainTaken(config.domains[failed.index - 1].name) from failed
            raise
        return version + 1


class CachedTenantConfigs:
    """A tenant's configuration read through the same 30-second cache as the front's: one
    read per tenant and half-minute instead of one per job."""

    def __init__(self, store: TenantConfigStore) -> None:
        self._cache: TtlCache[tuple[TenantConfig, int]] = TtlCache(store.get)

    def get(self, tenant_id: str) -> tuple[TenantConfig, int]:
        return self._cache.find(tenant_id)
