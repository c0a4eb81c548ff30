"""Bulk re-delivery throughput: messages released per second by the re-delivery workers, for
5,000 quarantined messages across 3 tenants, printed as JSON.

A fresh local emulator (its own process, as under ``mailgate up``) holds the quarantine, seeded
straight through the stores (the entries alone: the scan workers that would read the raw
messages are not running); the operator's side queues the run, and the redeliver function
runs under the local SQS runner at ``mailgate up``'s concurrency, throttled at the highest rate
per tenant so that the workers, not the throttle, set the pace. Each release is the quarantine
entry's conditional move and the scan job that resumes stage 2 (the scan workers are not
running: their cost is the scan bench's). Timed: from the first job queued to the last outcome
recorded.

Run: .venv/bin/python bench/redeliver.py [--messages 5000] [--tenants 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "ap-northeast-1"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--tenants", type=int, default=3)
    args = parser.parse_args()

    from bench.local_aws import local_aws

    with local_aws(Path(tempfile.mkdtemp(prefix="bench-redeliver-")), REGION):
        print(json.dumps(_bench(args.messages, args.tenants), indent=2))


def _bench(count: int, tenant_count: int) -> dict[str, object]:
    from local.gateway import _handler
    from local.settings import LocalSettings
    from local.sqs_runner import QueueRunner
    from mailgate import resources
    from mailgate.catalog import ThreatType
    from mailgate.clock import utcnow
    from mailgate.redelivery import Redelivery, summarize
    from mailgate.redelivery_records import MAX_RATE_PER_S, Selection
    from mailgate.storage.audit import AuditStore
    from mailgate.storage.queues import JobQueue
    from mailgate.storage.redelivery_runs import RedeliveryRunStore
    from tests.support.quarantine_seed import QuarantineSeed

    tenants = [f"bench-{n}" for n in range(tenant_count)]
    seed, now = QuarantineSeed(), datetime.now(UTC)
    at = now - timedelta(hours=2)

    def add(n: int) -> None:
        tenant = tenants[n % tenant_count]
        seed.add(
            tenant,
            f"user{n}@{tenant}.test",
            at,
            "graymail",
            "Graymail",
            ThreatType.GRAYMAIL,
            "marketing",
            entry_only=True,
        )

    started = time.perf_counter()
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(add, range(count)))
    seeding = time.perf_counter() - started

    runs = RedeliveryRunStore(resources.AUDIT.local_name)
    redelivery = Redelivery(
        seed.quarantine,
        runs,
        JobQueue(os.environ[resources.REDELIVER_QUEUE.env_var]),
        AuditStore(resources.AUDIT.local_name),
        utcnow,
    )
    selection = Selection(
        start=now - timedelta(hours=3),
        end=now - timedelta(hours=1),
        threat_types=[ThreatType.GRAYMAIL],
    )
    run = redelivery.start(selection, "bench", MAX_RATE_PER_S)
    settings = LocalSettings()
    runner = QueueRunner(
        "redeliver",
        os.environ[resources.REDELIVER_QUEUE.env_var],
        REGION,
        _handler("redeliver"),
        settings.redeliver_scaling,
    )
    runner.start()
    try:
        started = time.perf_counter()
        list(redelivery.queue(run, tenants))
        queued = time.perf_counter() - started
        while runs.progress(run.run_id)[0] < count:
            time.sleep(1)
        seconds = time.perf_counter() - started
    finally:
        runner.stop()
    summaries = summarize(runs.messages(run.run_id))
    released = sum(s.released for s in summaries.values())
    assert released == count, summaries
    return {
        "messages": count,
        "tenants": tenant_count,
        "worker_concurrency": settings.redeliver_concurrency,
        "seeding_seconds": round(seeding, 1),
        "queueing_seconds": round(queued, 1),
        "seconds": round(seconds, 1),
        "released_per_second": round(released / seconds, 1),
        "released_per_tenant": {t: s.released for t, s in summaries.items()},
    }


if __name__ == "__main__":
    main()
