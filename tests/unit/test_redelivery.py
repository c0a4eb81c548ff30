"""Bulk re-delivery over in-memory stores: the selection, a run queued per tenant and batch,
resumed without queueing twice, and workers that release each message once, throttled per
tenant, recording what became of it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from mailgate import quarantine_release
from mailgate.audit import AuditEntry
from mailgate.catalog import Direction, ThreatType
from mailgate.clock import utcnow
from mailgate.jobs import RedeliveryJob, ScanJob
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.redelivery import BATCH, RELEASE_FAILED, Redeliverer, Redelivery, summarize
from mailgate.redelivery_records import Selection
from tests.support.fakes import FakeCounters, FakeQuarantine, FakeQueue, FakeRedeliveryRuns

NOW = datetime.now(UTC).replace(microsecond=0)
WINDOW = Selection(
    start=NOW - timedelta(hours=3), end=NOW - timedelta(hours=1), threat_types=[ThreatType.GRAYMAIL]
)


def entry(tenant: str, n: int, minutes_ago: int = 120, **fields: Any) -> QuarantineEntry:
    values: dict[str, Any] = {
        "tenant_id": tenant,
        "message_uuid": f"{tenant}-{n}",
        "time": NOW - timedelta(minutes=minutes_ago),
        "received_at": NOW - timedelta(minutes=minutes_ago, seconds=2),
        "direction": Direction.INBOUND,
        "sender": "news@shop.example",
        "recipients": ["bob@acme.example"],
        "rule_id": "graymail",
        "rule_name": "Graymail",
        "threat_type": ThreatType.GRAYMAIL,
        "subtype": "marketing",
        "mail_key": f"{tenant}/mail/{n}.eml",
    }
    return QuarantineEntry.model_validate(values | fields)


class Audit:
    def __init__(self) -> None:
        self.entries: list[AuditEntry] = []

    def add(self, entry: AuditEntry) -> None:
        self.entries.append(entry)


class World:
    def __init__(self, *entries: QuarantineEntry) -> None:
        self.quarantine = FakeQuarantine(entries)
        self.runs = FakeRedeliveryRuns()
        self.jobs = FakeQueue()
        self.scan = FakeQueue()
        self.audit = Audit()
        self.counters = FakeCounters()
        self.slept: list[float] = []
        self.now = NOW
        self.ops = Redelivery(self.quarantine, self.runs, self.jobs, self.audit, lambda: self.now)
        self.worker = Redeliverer(
            self.quarantine, self.scan, self.runs, self.counters, self.slept.append, lambda: 100.5
        )

    def queued_jobs(self) -> list[RedeliveryJob]:
        return [job for job, _ in self.jobs.sent if isinstance(job, RedeliveryJob)]

    def work(self) -> None:
        for job in self.queued_jobs():
            self.worker.run(job)


def test_only_matching_messages_quarantined_in_the_window_are_selected() -> None:
    world = World(
        entry("a", 1),
        entry("a", 2, minutes_ago=30),  # after the window
        entry("a", 3, minutes_ago=240),  # before it
        entry("a", 4, threat_type=ThreatType.SPAM, subtype=""),
        entry("a", 5, direction=Direction.OUTBOUND),
        entry("a", 6, state=QuarantineState.DELETED),
        entry("b", 1, rule_name="GRAYMAIL"),
    )
    plan = world.ops.plan(WINDOW, ["a", "b", "c"])
    assert {t: sorted(e.message_uuid for e in found) for t, found in plan.items()} == {
        "a": ["a-1", "a-5"],
        "b": ["b-1"],
        "c": [],
    }
    narrower = WINDOW.model_copy(
        update={"directions": [Direction.INBOUND], "subtypes": ["bulk"], "rule_names": ["x"]}
    )
    assert world.ops.plan(narrower, ["a"]) == {"a": []}


def test_a_selection_refuses_an_empty_window_and_unknown_subtypes() -> None:
    with pytest.raises(ValidationError, match="before its end"):
        Selection(start=NOW, end=NOW)
    with pytest.raises(ValidationError, match="unknown threat subtypes: newsletter"):
        Selection(start=NOW - timedelta(hours=1), end=NOW, subtypes=["newsletter"])


def test_a_run_releases_each_message_once_as_the_operator_and_summarizes_per_tenant() -> None:
    world = World(
        *(entry("a", n) for n in range(BATCH + 1)),
        entry("b", 1),
        entry("b", 2, state=QuarantineState.RELEASED, released_by="an admin"),
    )
    run = world.ops.start(WINDOW, "alice", rate_per_s=1000)
    queued = {q.tenant_id: q for q in world.ops.queue(run, ["a", "b"])}
    assert (queued["a"].queued, queued["b"].queued, queued["b"].already_released) == (51, 1, 1)
    assert [len(job.message_uuids) for job in world.queued_jobs()] == [BATCH, 1, 1]
    world.work()
    world.work()  # a job delivered twice by SQS
    scans = [job for job, _ in world.scan.sent if isinstance(job, ScanJob)]
    assert len(scans) == 52 and {job.released_by for job in scans} == {"alice"}
    assert {job.resume_after_rule for job in scans} == {"graymail"}
    summary = summarize(world.runs.messages(run.run_id))
    assert (summary["a"].released, summary["a"].queued) == (51, 0)
    assert (summary["b"].released, summary["b"].already_released) == (1, 1)
    # The audit trail of each tenant says who queued how many, and from where.
    assert [(e.tenant_id, e.actor, e.action, e.details["queued"]) for e in world.audit.entries] == [
        ("a", "operator alice", "quarantine.redeliver", 51),
        ("b", "operator alice", "quarantine.redeliver", 1),
    ]


def test_a_second_run_releases_nothing_new() -> None:
    world = World(entry("a", 1), entry("a", 2))
    first = world.ops.start(WINDOW, "alice", rate_per_s=10)
    list(world.ops.queue(first, ["a"]))
    world.work()
    world.jobs.sent.clear()
    world.now = utcnow()  # after the first run's releases
    second = world.ops.start(WINDOW, "alice", rate_per_s=10)
    (queued,) = world.ops.queue(second, ["a"])
    assert (queued.queued, queued.already_released) == (0, 2) and world.queued_jobs() == []
    assert summarize(world.runs.messages(second.run_id))["a"].already_released == 2


def test_resuming_queues_only_what_the_run_has_not_taken() -> None:
    world = World(entry("a", 1), entry("b", 1), entry("b", 2))
    run = world.ops.start(WINDOW, "alice", rate_per_s=10)
    next(world.ops.queue(run, ["a", "b"]))  # interrupted after the first tenant
    (job,) = world.queued_jobs()
    assert job.tenant_id == "a"
    world.work()
    world.jobs.sent.clear()
    list(world.ops.queue(run, ["a", "b"]))
    (job,) = world.queued_jobs()
    assert (job.tenant_id, job.message_uuids) == ("b", ["b-1", "b-2"])
    # Queued but not done when resumed once more (the job may be lost, or still in flight):
    # sent again, and each message is still released once.
    list(world.ops.queue(run, ["a", "b"]))
    world.work()
    assert len(world.scan.sent) == 3
    assert summarize(world.runs.messages(run.run_id))["b"].released == 2


def test_a_message_this_run_released_counts_as_released_whichever_job_records_first() -> None:
    earlier = NOW - timedelta(minutes=5)
    world = World(
        entry("a", 1),
        entry("a", 2, state=QuarantineState.RELEASED, released_by="alice", released_at=earlier),
    )
    run = world.ops.start(WINDOW, "alice", rate_per_s=10)
    list(world.ops.queue(run, ["a"]))
    # The run's first job released a-1 but was cut before recording it; a resumed run's job
    # for the same message finds it released. a-2 was released by the same operator earlier.
    quarantine_release.release(world.quarantine, world.scan, "a", "a-1", "alice")
    world.worker.run(
        RedeliveryJob(
            tenant_id="a",
            run_id=run.run_id,
            message_uuids=["a-1", "a-2"],
            released_by="alice",
            rate_per_s=10,
        )
    )
    outcomes = {m.message_uuid: m.outcome for m in world.runs.messages(run.run_id)}
    assert outcomes == {"a-1": "released", "a-2": "already_released"}
    assert len(world.scan.sent) == 1


def test_resuming_while_the_first_job_releases_leaves_the_message_to_that_job() -> None:
    world = World(entry("a", 1), entry("a", 2))
    run = world.ops.start(WINDOW, "alice", rate_per_s=10)
    list(world.ops.queue(run, ["a"]))
    (first,) = world.queued_jobs()
    # The first job has released a-1 but not yet recorded it when the command is run again.
    quarantine_release.release(world.quarantine, world.scan, "a", "a-1", "alice")
    world.jobs.sent.clear()
    (queued,) = world.ops.queue(run, ["a"])
    assert queued.already_released == 0
    world.worker.run(first)
    world.work()
    outcomes = {m.message_uuid: m.outcome for m in world.runs.messages(run.run_id)}
    assert outcomes == {"a-1": "released", "a-2": "released"}
    assert len(world.scan.sent) == 2


class BrokenQueue:
    def send(self, job: BaseModel, delay_s: int = 0) -> None:
        raise ConnectionError("queue unreachable")


def test_a_release_that_cannot_be_queued_is_failed_with_its_reason_and_retried_on_resume() -> None:
    world = World(entry("a", 1))
    run = world.ops.start(WINDOW, "alice", rate_per_s=10)
    list(world.ops.queue(run, ["a"]))
    broken = Redeliverer(world.quarantine, BrokenQueue(), world.runs, world.counters)
    broken.run(world.queued_jobs()[0])
    summary = summarize(world.runs.messages(run.run_id))["a"]
    assert dict(summary.failed) == {RELEASE_FAILED: 1}
    assert world.quarantine.entries["a", "a-1"].state is QuarantineState.QUARANTINED
    world.jobs.sent.clear()
    list(world.ops.queue(run, ["a"]))
    world.work()
    assert summarize(world.runs.messages(run.run_id))["a"].released == 1


def test_workers_wait_for_the_tenants_next_second_beyond_its_rate() -> None:
    world = World(*(entry("a", n) for n in range(3)), entry("b", 1))
    run = world.ops.start(WINDOW, "alice", rate_per_s=2)
    list(world.ops.queue(run, ["a", "b"]))
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        world.counters.counts.clear()  # the next second's window

    worker = Redeliverer(
        world.quarantine, world.scan, world.runs, world.counters, sleep, lambda: 7.75
    )
    for job in world.queued_jobs():
        worker.run(job)
    assert waits == [0.25]  # a's third release; b has its own budget
    assert len(world.scan.sent) == 4
