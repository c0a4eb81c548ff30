"""The export function's and the export worker's objects, built from their settings on first
use (not at import)."""

from __future__ import annotations

from functools import cache

from functions.export.export_all import ExportAll
from functions.export.notify import ExportNotifier
from functions.export.service import ExportService
from mailgate.origination import Originator
from mailgate.settings import ExportSettings, ExportWorkerSettings
from mailgate.storage.audit import AuditStore
from mailgate.storage.export_files import ExportFiles
from mailgate.storage.exports import ExportStore
from mailgate.storage.mail import MailStore
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import TenantStore
from mailgate.storage.tracking import TrackingStore


def _notifier(settings: ExportSettings | ExportWorkerSettings) -> ExportNotifier:
    originator = Originator(
        MailStore(settings.mail_bucket),
        TrackingStore(settings.tracking_table),
        JobQueue(settings.deliver_queue_url),
        TenantStore(settings.tenants_table),
    )
    return ExportNotifier(originator, settings.console_url)


@cache
def service() -> ExportService:
    settings = ExportSettings()
    return ExportService(
        TrackingStore(settings.tracking_table, settings.tracking_shards),
        PolicyEventStore(settings.policy_table),
        ExportStore(settings.exports_table),
        ExportFiles(settings.mail_bucket),
        JobQueue(settings.export_queue_url),
        TenantStore(settings.tenants_table),
        _notifier(settings),
    )


@cache
def export_all() -> ExportAll:
    settings = ExportWorkerSettings()
    return ExportAll(
        TrackingStore(settings.tracking_table, settings.tracking_shards),
        PolicyEventStore(settings.policy_table),
        ExportStore(settings.exports_table),
        ExportFiles(settings.mail_bucket),
        _notifier(settings),
    )


@cache
def audit_trail() -> AuditStore:
    return AuditStore(ExportSettings().audit_table)
