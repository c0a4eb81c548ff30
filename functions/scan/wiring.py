"""The scan function's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache

from functions.scan.stage import ScanStage
from mailgate.settings import ScanSettings
from mailgate.storage.queues import JobQueue
from mailgate.storage.tracking import TrackingStore


@cache
def stage() -> ScanStage:
    settings = ScanSettings()
    return ScanStage(TrackingStore(settings.tracking_table), JobQueue(settings.deliver_queue_url))
