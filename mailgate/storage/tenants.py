"""Tenants, their configuration, managed domains and API keys.

Items: ``TENANT#<id>`` (profile under ``ITEM``, configuration under ``CONFIG``),
``DOMAIN#<domain>`` (owner and inbound servers, so the SMTP front finds a recipient's tenant
with one read), ``APIKEY#<sha256 of key>`` (tenant and scopes; the key itself is never stored).
"""

from __future__ import annotations

import hashlib
from typing import Any

from boto3.dynamodb.types import TypeSerializer
from pydantic import BaseModel

from mailgate import aws
from mailgate.tenant_config import Domain, TenantConfig
from mailgate.ttl_cache import TtlCache

ITEM = "ITEM"
CONFIG = "CONFIG"


class ApiKey(BaseModel):
    tenant_id: str
    scopes: list[str]
    name: str = ""


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


class TenantStore:
    def __init__(self, table_name: str) -> None:
        self._table_name = table_name

    @property
    def _table(self) -> Any:
        return aws.table(self._table_name)

    def _get(self, pk: str) -> dict[str, Any] | None:
        item: dict[str, Any] | None = self._table.get_item(Key={"pk": pk, "sk": ITEM}).get("Item")
        return item

    def put_tenant(self, tenant_id: str, name: str) -> None:
        self._table.put_item(
            Item={"pk": f"TENANT#{tenant_id}", "sk": ITEM, "tenant_id": tenant_id, "name": name}
        )

    def domain(self, name: str) -> Domain | None:
        item = self._get(f"DOMAIN#{name.lower()}")
        if item is None:
            return None
        for server in item.get("inbound_servers", []):
            server["port"] = int(server["port"])
        return Domain.model_validate(item)

    def put_api_key(self, api_key: str, key: ApiKey) -> None:
        item = key.model_dump() | {"pk": f"APIKEY#{key_digest(api_key)}", "sk": ITEM}
        self._table.put_item(Item=item)

    def api_key(self, api_key: str) -> ApiKey | None:
        item = self._get(f"APIKEY#{key_digest(api_key)}")
        return ApiKey.model_validate(item) if item else None


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
        serializer = TypeSerializer()

        def item(values: dict[str, Any]) -> dict[str, Any]:
            return {name: serializer.serialize(value) for name, value in values.items()}

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
