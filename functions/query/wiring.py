"""The objects of the query function and of the API key authorizer, built from their settings
on first use (not at import: the cursor key is read from Secrets Manager)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from functions.query.audit_service import AuditService
from functions.query.config_service import ConfigService
from functions.query.events_service import EventsService
from functions.query.feed_service import FeedService
from functions.query.policy_service import PolicyService
from functions.query.quarantine_service import QuarantineService
from functions.query.saved_queries_service import SavedQueryService
from functions.query.tracking_service import TrackingService
from mailgate.search.cursor import CursorSigner
from mailgate.secrets import secret_bytes
from mailgate.settings import AuthorizerSettings, QuerySettings
from mailgate.storage.audit import AuditStore
from mailgate.storage.mail import MailStore
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.quarantine import QuarantineStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.saved_queries import SavedQueryStore
from mailgate.storage.tenants import TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore
from mailgate.tenants import SuspendedTenants


@dataclass(frozen=True)
class QueryServices:
    tracking: TrackingService
    config: ConfigService
    events: EventsService
    feed: FeedService
    quarantine: QuarantineService
    policies: PolicyService
    audit: AuditService
    saved_queries: SavedQueryService


@cache
def services() -> QueryServices:
    settings = QuerySettings()
    signer = CursorSigner(secret_bytes(settings.cursor_secret_id))
    tracking = TrackingStore(settings.tracking_table, settings.tracking_shards)
    events = PolicyEventStore(settings.policy_table)
    config = ConfigService(TenantConfigStore(settings.tenants_table))
    return QueryServices(
        tracking=TrackingService(tracking, signer),
        config=config,
        policies=PolicyService(config),
        audit=AuditService(audit_trail(), signer),
        events=EventsService(events, signer),
        feed=FeedService(events, tracking, signer),
        quarantine=QuarantineService(
            QuarantineStore(settings.policy_table),
            tracking,
            MailStore(settings.mail_bucket),
            JobQueue(settings.scan_queue_url),
            signer,
        ),
        saved_queries=SavedQueryService(SavedQueryStore(settings.queries_table)),
    )


@cache
def authorizer_tenants() -> TenantStore:
    return TenantStore(AuthorizerSettings().tenants_table)


@cache
def suspended_tenants() -> SuspendedTenants:
    return SuspendedTenants(authorizer_tenants().tenant)


@cache
def audit_trail() -> AuditStore:
    return AuditStore(QuerySettings().audit_table)
