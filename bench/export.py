"""Cost of one "export all" of 10,000 and of 50,000 tracking rows, printed as JSON.

Each size runs in a fresh child process (so that its peak memory is its own): the local
emulator (its own process, as under ``mailgate up``) is filled with the rows, written in
batches over 56 days, under a thousand a day; then the export worker's logic pages through
them, writes the zipped CSV (or the Parquet file) and uploads it with a multipart upload.
Reported per format and size: wall seconds of the export, the CPU seconds of our process (the
emulator's are not ours), our peak RSS before and after the export, and the file's size.

Run: .venv/bin/python bench/export.py [--rows 10000 50000] [--formats csv parquet]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REGION = "ap-northeast-1"
DAYS = 56
TENANT = "bench"


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _rows(count: int) -> Iterator[object]:
    from mailgate.catalog import Direction, Status
    from mailgate.records import TrackingRow

    start = datetime.now(UTC) - timedelta(days=DAYS)
    every = timedelta(days=DAYS) / count
    for n in range(count):
        yield TrackingRow(
            tenant_id=TENANT,
            message_uuid=str(uuid.uuid4()),
            recipient=f"user{n}@example.com",
            time=start + n * every,
            direction=Direction.INBOUND,
            sender=f"sender{n % 97}@sender.test",
            sender_ip="203.0.113.7",
            upstream_tls="TLSv1.3",
            status=Status.DELIVERED,
            subject=f"請求書 {n} / invoice {n}",
            message_id=f"<{n}@sender.test>",
            size=20_000 + n % 5000,
            delivered_to="198.51.100.2",
            downstream_tls="TLSv1.3",
        )


def one(count: int, format: str) -> dict[str, object]:
    """Fill a fresh emulator with ``count`` rows and export them (runs in its own process)."""
    from bench.local_aws import local_aws

    with local_aws(Path(tempfile.mkdtemp(prefix="bench-export-")), REGION):
        return _export(count, format)


def _export(count: int, format: str) -> dict[str, object]:
    from functions.export.export_all import ExportAll
    from functions.export.notify import ExportNotifier
    from functions.export.service import archive_name
    from mailgate import aws, resources
    from mailgate.export.formats import Format
    from mailgate.jobs import ExportJob
    from mailgate.origination import Originator
    from mailgate.records import ExportTaskRecord
    from mailgate.storage.export_files import ExportFiles, export_key
    from mailgate.storage.exports import ExportStore
    from mailgate.storage.mail import MailStore
    from mailgate.storage.policy_events import PolicyEventStore
    from mailgate.storage.queues import JobQueue
    from mailgate.storage.tenants import TenantStore
    from mailgate.storage.tracking import TrackingStore

    tracking = TrackingStore(resources.TRACKING.local_name)
    rows = _rows(count)
    while batch := list(islice(rows, 1000)):
        tracking.add(batch, [])  # type: ignore[arg-type]
    exports = ExportStore(resources.EXPORTS.local_name)
    now = datetime.now(UTC)
    file_name = archive_name(Format(format))
    task = ExportTaskRecord(
        tenant_id=TENANT,
        task_id=str(uuid.uuid4()),
        created_at=now,
        format=format,
        file_name=file_name,
        object_key=export_key(TENANT, file_name),
        quota_day=now.date(),
        expires_at=now + timedelta(days=7),
    )
    exports.create(task)
    job = ExportJob(
        tenant_id=TENANT,
        task_id=task.task_id,
        created_at=now,
        query={"period": "24h"},
        period_start=now - timedelta(days=DAYS + 1),
        period_end=now,
        locale="ja",
        time_zone="Asia/Tokyo",
    )
    mail = resources.MAIL.local_name
    export_all = ExportAll(
        tracking,
        PolicyEventStore(resources.POLICY.local_name),
        exports,
        ExportFiles(mail),
        ExportNotifier(  # the task has no notify address: nothing is sent
            Originator(
                MailStore(mail),
                tracking,
                JobQueue(os.environ[resources.DELIVER_QUEUE.env_var]),
                TenantStore(resources.TENANTS.local_name),
            ),
            "",
        ),
    )
    rss_before = _peak_rss_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    export_all.run(job)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    done = exports.task(TENANT, task.task_id)
    assert done is not None and done.rows == count, done
    size = aws.client("s3").head_object(Bucket=resources.MAIL.local_name, Key=task.object_key)
    return {
        "rows": count,
        "seconds": round(wall, 1),
        "our_cpu_seconds": round(cpu, 2),
        "peak_rss_mb_before_export": round(rss_before, 1),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "file_mb": round(size["ContentLength"] / 1e6, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--formats", nargs="+", default=["csv", "parquet"])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--format", default="csv", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.format)))
        return
    results: dict[str, list[object]] = {}
    for format, count in ((format, count) for format in args.formats for count in args.rows):
        child = subprocess.run(
            [sys.executable, __file__, "--one", str(count), "--format", format],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT), "POWERTOOLS_LOG_LEVEL": "WARNING"},
        )
        results.setdefault(format, []).append(json.loads(child.stdout.strip().splitlines()[-1]))
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
