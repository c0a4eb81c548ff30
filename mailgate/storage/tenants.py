"""Tenants, their managed domains and API keys.

Items: ``TENANT#<id>`` (profile), ``DOMAIN#<domain>`` (owner and inbound servers, so the SMTP
front finds a recipient's tenant with one read), ``APIKEY#<sha256 of key>`` (tenant and scopes;
the key itself is never stored).
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import BaseModel, ConfigDict

from mailgate import aws

ITEM = "ITEM"


class MailServer(BaseModel):
    model_config = ConfigDict(frozen=True)

    host: str
    port: int = 25


class Domain(BaseModel):
    name: str
    tenant_id: str
    inbound_servers: list[MailServer]
    outbound: bool = True


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

    def put_domain(self, domain: Domain) -> None:
        name = domain.name.lower()
        item = domain.model_dump(mode="json") | {"pk": f"DOMAIN#{name}", "sk": ITEM, "name": name}
        self._table.put_item(Item=item)

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
