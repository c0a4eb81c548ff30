"""The objects of the query function and of the API key authorizer, built from their settings
on first use (not at import: the cursor key is read from Secrets Manager)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from functions.query.config_service import ConfigService
from functions.query.tracking_service import TrackingService
from mailgate.search.cursor import CursorSigner
from mailgate.secrets import secret_bytes
from mailgate.settings import AuthorizerSettings, QuerySettings
from mailgate.storage.tenants import TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore


@dataclass(frozen=True)
class QueryServices:
    tracking: TrackingService
    config: ConfigService


@cache
def services() -> QueryServices:
    settings = QuerySettings()
    signer = CursorSigner(secret_bytes(settings.cursor_secret_id))
    return QueryServices(
        tracking=TrackingService(TrackingStore(settings.tracking_table), signer),
        config=ConfigService(TenantConfigStore(settings.tenants_table)),
    )


@cache
def authorizer_tenants() -> TenantStore:
    return TenantStore(AuthorizerSettings().tenants_table)
