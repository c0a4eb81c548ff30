"""The re-delivery worker's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache

from mailgate.redelivery import Redeliverer
from mailgate.settings import RedeliverSettings
from mailgate.storage.counters import RateCounters
from mailgate.storage.quarantine import QuarantineStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.redelivery_runs import RedeliveryRunStore


@cache
def redeliverer() -> Redeliverer:
    settings = RedeliverSettings()
    return Redeliverer(
        QuarantineStore(settings.policy_table),
        JobQueue(settings.scan_queue_url),
        RedeliveryRunStore(settings.audit_table),
        RateCounters(settings.counters_table),
    )
