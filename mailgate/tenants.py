"""Tenants and their API keys, as the tenants table keeps them (only a key's digest is
stored: its secret is shown once, when it is created)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel

from mailgate.ttl_cache import TtlCache

# How often a key's last use is written at most: the authorizer runs on every request whose
# answer API Gateway has not cached, and one write a minute per key is enough to answer
# "is this key still used".
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TenantStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"


class Tenant(BaseModel):
    tenant_id: str
    name: str
    status: TenantStatus = TenantStatus.ACTIVE
    created_at: datetime | None = None  # None: created before creation times were kept


class ApiKey(BaseModel):
    tenant_id: str
    scopes: list[str]
    name: str = ""
    key_id: str = ""  # the first characters of the digest: what operators name a key by
    created_at: datetime | None = None
    expires_at: datetime | None = None
    last_used_at: datetime | None = None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


def key_digest(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()


def key_id_of(digest: str) -> str:
    return digest[:16]


class SuspendedTenants:
    """Whether a tenant is suspended, read through the same 30-second cache as tenant
    configurations: a suspension or resumption takes effect within that time, without a
    read per message or request. An unknown tenant is not suspended."""

    def __init__(self, lookup: Callable[[str], Tenant | None]) -> None:
        self._cache: TtlCache[bool] = TtlCache(
            lambda tenant_id: (
                (found := lookup(tenant_id)) is not None and found.status is TenantStatus.SUSPENDED
            )
        )

    def __call__(self, tenant_id: str) -> bool:
        return self._cache.find(tenant_id)
