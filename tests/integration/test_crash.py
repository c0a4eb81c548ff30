"""A hard kill of ``mailgate up`` (SIGKILL to its whole process group, as a power cut or the
OOM killer) loses nothing it acknowledged: every message answered "250" is, after a restart on
the same state directory, in tracking, in S3, and delivered. A message delivered twice (the
crash fell between the delivery and the deletion of its job) is reported, not hidden."""

from __future__ import annotations

import random
import smtplib
import sys
import threading
import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.journal import FRAME
from mailgate import resources
from tests.support.api_client import ApiClient, wait_for
from tests.support.local_up import UpProcess, up_env

pytestmark = pytest.mark.integration

SENDERS = 4
# A delivery cut by a kill is tried again soon: retries after 1 s, and the cut run's claim on its
# recipients lapses after 15 s (the sink answers at once, so no run lasts that long).
FAST_RETRY = {"MAILGATE_RETRY_SCHEDULE_S": "1", "MAILGATE_DELIVERY_CLAIM_S": "15"}


class Senders:
    """Client threads sending mail until the gateway stops answering; each message's subject
    is unique and recorded with its UUID once the gateway answered 250."""

    def __init__(self, env: dict[str, str], acknowledged: dict[str, str], tag: str) -> None:
        self._port = int(env["MAILGATE_SMTP_PORT"])
        self._acknowledged = acknowledged
        self._tag = tag
        self._stop = threading.Event()
        self.count = 0
        self._threads = [threading.Thread(target=self._send, args=(n,)) for n in range(SENDERS)]

    def __enter__(self) -> Senders:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _send(self, client: int) -> None:
        n = 0
        while not self._stop.is_set():
            try:
                with smtplib.SMTP("127.0.0.1", self._port, timeout=10) as smtp:
                    smtp.ehlo()
                    while not self._stop.is_set():
                        n += 1
                        subject = f"crash-{self._tag}-{client}-{n}"
                        smtp.mail("a@sender.test")
                        smtp.rcpt("crash@example.com")
                        code, reply = smtp.data(f"Subject: {subject}\r\n\r\nx\r\n".encode())
                        if code == 250:
                            self._acknowledged[reply.decode().split()[-1]] = subject
                            self.count += 1
            except (OSError, smtplib.SMTPException):
                time.sleep(0.05)  # the gateway is gone or going: nothing more is acknowledged


def demo_api(process: UpProcess) -> ApiClient:
    key = process.output.split("demo API key", 1)[1].split()[0]
    return ApiClient(f"http://127.0.0.1:{process.env['MAILGATE_API_PORT']}", key)


def delivered_subjects(state_dir: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in (state_dir / "sink").glob("*.eml"):
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("Subject: crash-"):
                found[line.removeprefix("Subject: ")] += 1
    return found


def assert_nothing_acknowledged_is_lost(
    process: UpProcess, state_dir: Path, acknowledged: dict[str, str]
) -> None:
    assert acknowledged, "no message was acknowledged before the kills"
    api = demo_api(process)

    assert [u for u in acknowledged if api.detail(u)[0] != 200] == []
    s3 = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{process.env['MAILGATE_AWS_PORT']}",
        region_name="ap-northeast-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=resources.MAIL.local_name)
        for item in page.get("Contents", [])
    ]
    stored = {Path(key).stem for key in keys}
    assert [u for u in acknowledged if u not in stored] == []

    def all_delivered() -> bool:
        delivered = delivered_subjects(state_dir)
        return all(delivered[s] for s in acknowledged.values())

    wait_for(all_delivered, timeout=60)

    # And every row is accounted for: none waits for a job that is gone. (A message the kill
    # cut after its job was queued but before its rows were written gets them from scan.)
    def reconciled() -> dict[str, Any]:
        status, report = api.request("POST", "/v1/tracking/reconcile", {"period": "1h"})
        assert status == 200, report
        return dict(report)

    wait_for(lambda: reconciled()["in_flight"] == 0, timeout=60)
    report = reconciled()
    assert (report["unaccounted"], report["dead_lettered"]) == (0, 0), report
    assert report["final"]["delivered"] >= len(acknowledged)
    delivered = delivered_subjects(state_dir)
    twice = sorted(s for s in acknowledged.values() if delivered[s] > 1)
    if twice:  # the kill fell between a delivery and the deletion of its job: say so
        warnings.warn(
            f"{len(twice)} of {len(acknowledged)} acknowledged messages delivered more than "
            f"once after a kill: {twice}",
            stacklevel=2,
        )


def test_nothing_acknowledged_is_lost_when_killed_at_random_instants(tmp_path: Path) -> None:
    # Given a gateway taking snapshots often, and four clients sending to it
    state_dir = tmp_path / "state"
    env = up_env(state_dir) | {"MAILGATE_SNAPSHOT_BYTES": "100000", **FAST_RETRY}
    acknowledged: dict[str, str] = {}
    for kill in range(3):
        process = UpProcess(env).start()
        with Senders(env, acknowledged, f"random{kill}") as senders:
            # When the whole process group is killed at a random instant once mail flows,
            # three times over
            wait_for(lambda: senders.count >= 2)
            time.sleep(random.uniform(0, 1.5))
            process.kill()
    # Then after a restart every acknowledged message is in tracking, in S3 and delivered
    final = UpProcess(env).start()
    try:
        assert_nothing_acknowledged_is_lost(final, state_dir, acknowledged)
    finally:
        final.interrupt()


def test_nothing_acknowledged_is_lost_when_killed_inside_the_journal(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    env = up_env(state_dir) | {"MAILGATE_SNAPSHOT_BYTES": "30000", **FAST_RETRY}
    crashing = [sys.executable, "-m", "tests.support.crash_at"]
    acknowledged: dict[str, str] = {}
    for point, after in (
        ("applied", random.randint(30, 90)),
        ("appended", random.randint(30, 90)),
        ("synced", random.randint(30, 90)),
        ("snapshot", 2),
    ):
        # Given a gateway that kills itself at a point of its journal's work
        process = UpProcess(env | {"CRASH_POINT": point, "CRASH_AFTER": str(after)}, crashing)
        try:
            process.start()
        except AssertionError:  # it got there while starting (redeliveries, bootstrap): a kill too
            assert process.wait() == -9, process.output
            continue
        # When clients send until it dies there
        with Senders(env, acknowledged, point):
            assert process.wait() == -9, process.output
    # Then after a restart every acknowledged message is in tracking, in S3 and delivered
    final = UpProcess(env).start()
    try:
        assert_nothing_acknowledged_is_lost(final, state_dir, acknowledged)
    finally:
        final.interrupt()


def test_a_torn_journal_tail_is_reported_and_acknowledged_config_kept(tmp_path: Path) -> None:
    # Given a gateway whose configuration was changed and acknowledged just before a hard kill
    state_dir = tmp_path / "state"
    env = up_env(state_dir)
    first = UpProcess(env).start()
    api = demo_api(first)
    status, document = api.request("GET", "/v1/config")
    config = document["config"] | {"reverse_dns": {"enabled": True, "forward_confirmed": False}}
    status, body = api.request(
        "PUT", "/v1/config", {"version": document["version"], "config": config}
    )
    assert status == 200, body
    first.kill()
    # and a last journal record cut short by the crash
    (segment, *_) = sorted((state_dir / "aws").glob("journal-*.log"), reverse=True)
    with segment.open("ab") as journal:
        journal.write(FRAME.pack(1000, 0) + b"half a record")
    # When it starts again
    second = UpProcess(env).start()
    try:
        # Then it says so, and starts with everything acknowledged before
        assert f"{segment} ends with a torn or damaged record" in second.output
        status, document = demo_api(second).request("GET", "/v1/config")
        assert document["config"]["reverse_dns"]["enabled"] is True
    finally:
        assert second.interrupt() == 0


def test_a_damaged_snapshot_stops_the_start_with_a_sentence(tmp_path: Path) -> None:
    state_dir = tmp_path / "state"
    env = up_env(state_dir)
    assert UpProcess(env).start().interrupt() == 0
    snapshot = state_dir / "aws" / "snapshot.bin"
    snapshot.write_bytes(snapshot.read_bytes()[:-10])
    second = UpProcess(env)
    with pytest.raises(AssertionError):
        second.start()
    assert second.wait() != 0
    assert f"mailgate: {snapshot} is damaged" in second.output
    assert "Traceback" not in second.output
