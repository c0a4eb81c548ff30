"""Stage 2: domain authentication and policy rules (none yet), then hand-off to delivery.

Runs at least once per job: the timeline event is keyed, and delivery skips recipients whose
row is already final, so a repeated scan sends no message twice.
"""

from __future__ import annotations

from mailgate.clock import utcnow
from mailgate.jobs import DeliverJob, ScanJob
from mailgate.ports import Jobs, Tracking
from mailgate.records import TimelineEvent


class ScanStage:
    def __init__(self, tracking: Tracking, deliver_queue: Jobs) -> None:
        self._tracking = tracking
        self._deliver_queue = deliver_queue

    def run(self, job: ScanJob) -> None:
        self._tracking.record(
            job.tenant_id,
            job.message_uuid,
            TimelineEvent(
                time=utcnow(),
                event_id="1-scanned",
                stage="scan",
                event="scanned",
                detail="no policy rule matched",
            ),
        )
        self._deliver_queue.send(DeliverJob(**job.model_dump()))
