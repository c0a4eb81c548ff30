"""Bulk re-delivery (seed 003): an operator releases every quarantined message a selection
finds, across tenants, and workers do the releases.

The operator's side (``Redelivery``) selects the messages of each tenant, records them in the
run and queues them, a job per tenant and batch; a message the run has already taken is never
queued again, so running it again with its id resumes it. A message already released (by an
administrator, or by an earlier run) is recorded as such without a job. The worker's side
(``Redeliverer``) releases each message through the quarantine's own release path (released
once, however often it is asked), at most ``rate_per_s`` a second per tenant, and records the
outcome. Each release resumes stage 2 after the quarantining rule, then delivers; tracking
says "delivered by administrator <operator>".
"""

from __future__ import annotations

import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime

from mailgate import quarantine_release
from mailgate.audit import AuditEntry, operator
from mailgate.jobs import RedeliveryJob
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.ports import (
    AuditLog,
    Counters,
    DayPosition,
    Increment,
    Jobs,
    QuarantineIndex,
    RedeliveryRuns,
)
from mailgate.redelivery_records import RedeliveryRun, RunMessage, Selection
from mailgate.search.day_records import DayRecords
from mailgate.search.pager import CursorState, read_page
from mailgate.search.period import Period

BATCH = 50  # messages per job
TAKE = 10  # releases a worker takes from its tenant's rate at once
PAGE = 1000
RELEASE_FAILED = "the release could not be queued"


def _position(entry: QuarantineEntry) -> DayPosition:
    return DayPosition(entry.time, entry.message_uuid)


def select(
    quarantine: QuarantineIndex, tenant_id: str, selection: Selection
) -> list[QuarantineEntry]:
    """The tenant's entries the selection finds, oldest first per direction."""
    found: list[QuarantineEntry] = []
    for direction in selection.directions:
        source = DayRecords(quarantine, tenant_id, direction, _position)
        position: CursorState | None = CursorState(Period(selection.start, selection.end))
        while position is not None:
            page = read_page(source, position, False, PAGE, selection.matches)
            found.extend(page.rows)
            position = page.next
    return found


def new_run_id(now: datetime) -> str:
    return f"{now:%Y%m%d-%H%M%S}-{secrets.token_hex(3)}"


@dataclass
class TenantSummary:
    selected: int = 0
    released: int = 0
    already_released: int = 0
    failed: Counter[str] = field(default_factory=Counter)  # by reason
    queued: int = 0  # not done yet

    @property
    def done(self) -> int:
        return self.selected - self.queued


def summarize(messages: list[RunMessage]) -> dict[str, TenantSummary]:
    """Per tenant: what became of the run's messages so far."""
    summaries: dict[str, TenantSummary] = {}
    for message in messages:
        summary = summaries.setdefault(message.tenant_id, TenantSummary())
        summary.selected += 1
        if not message.outcome:
            summary.queued += 1
        elif message.outcome == "released":
            summary.released += 1
        elif message.outcome == "already_released":
            summary.already_released += 1
        else:
            summary.failed[message.reason or message.outcome] += 1
    return dict(sorted(summaries.items()))


@dataclass(frozen=True)
class Queued:
    tenant_id: str
    selected: int  # by the selection, now
    queued: int  # newly, by this call
    already_released: int  # newly recorded as such by this call


class Redelivery:
    """The operator's side: starts a run, or resumes one, by queueing what it has not taken."""

    def __init__(
        self,
        quarantine: QuarantineIndex,
        runs: RedeliveryRuns,
        queue: Jobs,
        audit: AuditLog,
        clock: Callable[[], datetime],
    ) -> None:
        self._quarantine = quarantine
        self._runs = runs
        self._queue = queue
        self._audit = audit
        self._clock = clock

    def plan(self, selection: Selection, tenant_ids: list[str]) -> dict[str, list[QuarantineEntry]]:
        """What the selection finds, per tenant (a dry run shows its counts)."""
        return {tenant: select(self._quarantine, tenant, selection) for tenant in tenant_ids}

    def start(self, selection: Selection, operator_name: str, rate_per_s: int) -> RedeliveryRun:
        now = self._clock()
        run = RedeliveryRun(
            run_id=new_run_id(now),
            operator=operator_name,
            created_at=now,
            selection=selection,
            rate_per_s=rate_per_s,
        )
        self._runs.put_run(run)
        return run

    def queue(self, run: RedeliveryRun, tenant_ids: list[str], ip: str = "") -> Iterator[Queued]:
        """Queue, tenant by tenant, the selected messages the run has not taken yet; each
        tenant's audit trail records it."""
        for tenant_id in tenant_ids:
            entries = select(self._quarantine, tenant_id, run.selection)
            known = self._runs.known(run.run_id, tenant_id, [e.message_uuid for e in entries])
            fresh = [e for e in entries if e.message_uuid not in known]
            pending = [e.message_uuid for e in fresh if e.state is QuarantineState.QUARANTINED]
            # A message this run's own job is releasing (resumed before that job recorded it)
            # is that job's to record; only others were released before the run.
            released = [
                e.message_uuid
                for e in fresh
                if e.state is not QuarantineState.QUARANTINED and not released_by_run(run, e)
            ]
            for message_uuid in released:
                self._runs.record(run.run_id, tenant_id, message_uuid, "already_released")
            for start in range(0, len(pending), BATCH):
                batch = pending[start : start + BATCH]
                # Recorded first, sent second: a batch recorded but not sent when the command
                # was interrupted has no outcome, so a resumed run sends it again; a message
                # sent twice is still released once (the release path's own guard).
                self._runs.add(run.run_id, tenant_id, batch)
                self._queue.send(
                    RedeliveryJob(
                        tenant_id=tenant_id,
                        run_id=run.run_id,
                        message_uuids=batch,
                        released_by=run.operator,
                        rate_per_s=run.rate_per_s,
                    )
                )
            if fresh:
                self._audit_queued(run, tenant_id, len(pending), len(released), ip)
            yield Queued(tenant_id, len(entries), len(pending), len(released))

    def _audit_queued(
        self, run: RedeliveryRun, tenant_id: str, queued: int, released: int, ip: str
    ) -> None:
        selection = run.selection
        self._audit.add(
            AuditEntry(
                tenant_id=tenant_id,
                time=self._clock(),
                actor=operator(run.operator),
                actor_kind="operator",
                action="quarantine.redeliver",
                target=f"redelivery {run.run_id}",
                ip=ip,
                details={
                    "queued": queued,
                    "already_released": released,
                    "start": selection.start.isoformat(),
                    "end": selection.end.isoformat(),
                    "directions": [str(d) for d in selection.directions],
                    "threat_types": [str(t) for t in selection.threat_types],
                    "subtypes": selection.subtypes,
                    "rule_names": selection.rule_names,
                },
            )
        )


def released_by_run(run: RedeliveryRun, entry: QuarantineEntry | None) -> bool:
    """Whether the run released the message: by its operator, after the run began."""
    return (
        entry is not None
        and entry.state is not QuarantineState.QUARANTINED
        and entry.released_by == run.operator
        and entry.released_at is not None
        and entry.released_at >= run.created_at
    )


class Redeliverer:
    """The worker's side: releases a job's messages, throttled per tenant."""

    def __init__(
        self,
        quarantine: QuarantineIndex,
        scan_queue: Jobs,
        runs: RedeliveryRuns,
        counters: Counters,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._quarantine = quarantine
        self._scan_queue = scan_queue
        self._runs = runs
        self._counters = counters
        self._sleep = sleep
        self._clock = clock

    def run(self, job: RedeliveryJob) -> None:
        run = self._runs.run(job.run_id)

        def release(message_uuid: str) -> None:
            outcome = quarantine_release.release(
                self._quarantine, self._scan_queue, job.tenant_id, message_uuid, job.released_by
            )
            if (
                outcome == "already_released"
                and run is not None
                and released_by_run(run, self._quarantine.entry(job.tenant_id, message_uuid))
            ):
                # A resumed run's second job for a message the first one released: that first
                # job's outcome, whichever of the two records first.
                outcome = "released"
            reason = RELEASE_FAILED if outcome == "failed" else ""
            self._runs.record(job.run_id, job.tenant_id, message_uuid, outcome, reason)

        uuids = job.message_uuids
        # The releases a worker may make at once are made at once: each is a few requests
        # that mostly wait on the network.
        with ThreadPoolExecutor(TAKE) as pool:
            while uuids:
                allowed = self._throttle(job.tenant_id, job.rate_per_s, len(uuids))
                list(pool.map(release, uuids[:allowed]))
                uuids = uuids[allowed:]

    def _throttle(self, tenant_id: str, rate_per_s: int, wanted: int) -> int:
        """Take up to ``wanted`` of the tenant's releases of this second from a counter every
        worker shares (a few at a time, so that workers share a low rate), waiting for the
        next second when none is left; how many were taken."""
        take = min(wanted, rate_per_s, TAKE)
        while True:
            for amount in dict.fromkeys((take, 1)):
                increment = Increment(f"redeliver#{tenant_id}", amount, rate_per_s, 1)
                if self._counters.add_all([increment]) is None:
                    return amount
            now = self._clock()
            self._sleep(max(0.01, int(now) + 1 - now))
