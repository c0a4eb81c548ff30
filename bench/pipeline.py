"""Pipeline latency behind the SMTP front, printed as JSON.

Runs ``mailgate up`` in its own process, as ``make run`` does, and offers it 10 KB messages at
5, 10 and 20 msg/s, then as fast as 20 clients can send (like ``smtp-source -s 20``), which
gives the front's sustained accept rate. Each message's latency runs from its "250" to the time
of its final timeline event in tracking (written just before the row's final status). Every
load is run twice: all mail to the demo tenant's sink, then one message in ten to a destination
that answers DATA after 5 s. Each load runs on a fresh gateway (empty state, warmed up by a few
messages). A baseline gateway with one batch at a time per queue (the runners' former
behaviour) runs the 20 msg/s loads in the same run, and one without the front's flow control
(``MAILGATE_IN_FLOW_BACKLOG=0``) the flat-out loads: flow control trades some of the front's
accept rate for a bounded time from "250" to delivery.

CPU is read from /proc for the gateway and each of its child processes, separately from this
process (the clients and the slow destination); the load average says how busy the machine was.

Run: .venv/bin/python bench/pipeline.py [--seconds N]
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import platform
import smtplib
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.smtp_front import MESSAGE_BYTES, message  # noqa: E402
from mailgate import resources  # noqa: E402
from mailgate.catalog import FINAL_STATUSES  # noqa: E402
from mailgate.storage.tenants import TenantConfigStore, TenantStore  # noqa: E402
from mailgate.storage.tracking import TrackingStore  # noqa: E402
from mailgate.tenant_config import DomainConfig, MailServer, TenantConfig  # noqa: E402
from tests.support.ports import free_port  # noqa: E402
from tests.support.smtp_peer import HeldServer  # noqa: E402

RATES: tuple[float | None, ...] = (5, 10, 20, None)  # None: as fast as the clients can send
MAX_CLIENTS = 20
PACED_CLIENTS = 8
SLOW_EVERY = 10
SLOW_HOLD_S = 5.0
DEFERRED_RETRY_S = 1.0
SLOW_TENANT, SLOW_DOMAIN = "slow", "slow.test"
DEMO_TENANT, DEMO_DOMAIN = "demo", "example.com"
BASELINE = {
    "MAILGATE_SCAN_CONCURRENCY": "1",
    "MAILGATE_DELIVER_CONCURRENCY": "1",
    "MAILGATE_DELIVER_BATCH_SIZE": "10",
}
NO_FLOW_CONTROL = {"MAILGATE_IN_FLOW_BACKLOG": "0"}
TICKS = os.sysconf("SC_CLK_TCK")


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2 :].split()  # the fields after "(comm)"


def process_tree_cpu_s(root: int) -> dict[str, float]:
    """CPU seconds (user + system) of ``root`` and of each of its descendants, by pid."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, ValueError):
                continue  # gone meanwhile
    tree, frontier = [root], [root]
    while frontier:
        frontier = [pid for pid, parent in parents.items() if parent in frontier]
        tree += frontier
    cpu: dict[str, float] = {}
    for pid in tree:
        try:
            fields = _stat(pid)
        except OSError:
            continue
        cpu[str(pid)] = (int(fields[11]) + int(fields[12])) / TICKS
    return cpu


@dataclass
class Sent:
    message_uuid: str
    tenant: str
    acked_at: float  # wall clock, as the tracking times


class Gateway:
    """``mailgate up`` in a child process on free ports, with a fresh state directory.

    Every gateway of a run serves AWS on the same port: this process's boto3 clients are
    created once and keep their endpoint."""

    def __init__(self, extra_env: dict[str, str], aws_port: int) -> None:
        self.state_dir = Path(tempfile.mkdtemp(prefix="mailgate-pipeline-"))
        self.smtp_port = free_port()
        self.env = {
            **os.environ,
            **extra_env,
            "PYTHONPATH": str(ROOT),
            "MAILGATE_SMTP_PORT": str(self.smtp_port),
            "MAILGATE_RELAY_PORT": str(free_port()),
            "MAILGATE_API_PORT": str(free_port()),
            "MAILGATE_AWS_PORT": str(aws_port),
            "MAILGATE_SINK_PORT": str(free_port()),
            "MAILGATE_LOCAL_DNS_PORT": str(free_port()),
            "MAILGATE_STATE_DIR": str(self.state_dir),
        }
        self.aws_endpoint = f"http://127.0.0.1:{aws_port}"
        self.log = self.state_dir / "gateway.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local.cli", "up"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while b"mailgate is running" not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"mailgate up did not start:\n{self.log.read_text()}")
            time.sleep(0.2)
        os.environ.update(
            AWS_ENDPOINT_URL=self.aws_endpoint,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",
            AWS_DEFAULT_REGION="ap-northeast-1",
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=120)

    def delivered_to_sink(self) -> int:
        index = self.state_dir / "sink" / "index.jsonl"
        return len(index.read_text().splitlines()) if index.exists() else 0


def add_slow_tenant(server: HeldServer) -> None:
    table = resources.TENANTS.local_name
    TenantStore(table).put_tenant(SLOW_TENANT, SLOW_TENANT)
    config = TenantConfig(
        domains=[
            DomainConfig(
                name=SLOW_DOMAIN, inbound_servers=[MailServer(host="127.0.0.1", port=server.port)]
            )
        ]
    )
    TenantConfigStore(table).put(SLOW_TENANT, config, expected_version=0)


class Load:
    """Messages numbered from 0; message ``n`` is due at ``n / rate`` s (at once when no rate)."""

    def __init__(self, port: int, rate: float | None, seconds: float, slow: bool) -> None:
        self._port = port
        self._rate = rate
        self._slow = slow
        self._numbers = itertools.count()
        self._lock = threading.Lock()
        self.sent: list[Sent] = []
        self.errors: list[str] = []
        self.deferred = 0
        self.started = time.monotonic()
        self._until = self.started + seconds

    def _next(self) -> int | None:
        with self._lock:
            n = next(self._numbers)
        due = self.started + (n / self._rate if self._rate else 0.0)
        if max(due, time.monotonic()) >= self._until:
            return None
        time.sleep(max(0.0, due - time.monotonic()))
        return n

    def client(self) -> None:
        with smtplib.SMTP("127.0.0.1", self._port, timeout=120) as smtp:
            smtp.ehlo("mail.sender.test")
            while (n := self._next()) is not None:
                slow = self._slow and n % SLOW_EVERY == 0
                tenant, domain = (SLOW_TENANT, SLOW_DOMAIN) if slow else (DEMO_TENANT, DEMO_DOMAIN)
                if smtp.mail("bench@sender.test", [f"SIZE={MESSAGE_BYTES}"])[0] != 250:
                    with self._lock:  # refused for now: like an MTA, try again a little later
                        self.deferred += 1
                    time.sleep(DEFERRED_RETRY_S)
                    continue
                smtp.rcpt(f"user{n}@{domain}")
                code, reply = smtp.data(message(n))
                acked_at = time.time()
                with self._lock:
                    if code == 250:
                        queued = reply.decode().split("queued as ", 1)[1].split()[0]
                        self.sent.append(Sent(queued, tenant, acked_at))
                    else:
                        self.errors.append(f"{code} {reply.decode(errors='replace')}")

    def run(self) -> float:
        clients = MAX_CLIENTS if self._rate is None else PACED_CLIENTS
        threads = [threading.Thread(target=self.client) for _ in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return time.monotonic() - self.started


def percentiles(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"count": 0, "p50_s": None, "p99_s": None, "max_s": None}
    ordered = sorted(values)
    return {
        "count": len(ordered),
        "p50_s": round(statistics.median(ordered), 3),
        "p99_s": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))], 3),
        "max_s": round(ordered[-1], 3),
    }


def latencies(sent: list[Sent]) -> tuple[dict[str, list[float]], int]:
    """250 → final status, per destination; and how many messages have no final status."""
    tracking = TrackingStore(resources.TRACKING.local_name)
    found: dict[str, list[float]] = {"fast": [], "slow": []}
    not_final = 0
    for item in sent:
        rows, events = tracking.message(item.tenant, item.message_uuid)
        if not rows or any(row.status not in FINAL_STATUSES for row in rows):
            not_final += 1
            continue
        final_at = max(event.time for event in events).timestamp()
        found["slow" if item.tenant == SLOW_TENANT else "fast"].append(final_at - item.acked_at)
    return found, not_final


def scenario(
    gateway: Gateway, slow_server: HeldServer, rate: float | None, seconds: float, slow: bool
) -> dict[str, object]:
    assert gateway.process is not None
    sink_before, slow_before = gateway.delivered_to_sink(), len(slow_server.received)
    cpu_before, own_before, load_before = (
        process_tree_cpu_s(gateway.process.pid),
        os.times(),
        os.getloadavg()[0],
    )
    load = Load(gateway.smtp_port, rate, seconds, slow)
    sending_s = load.run()
    # Wait for the destinations (not tracking: polling it would load the gateway under test).
    deadline = time.monotonic() + max(30.0, seconds)
    while time.monotonic() < deadline:
        arrived = gateway.delivered_to_sink() - sink_before
        arrived += len(slow_server.received) - slow_before
        if arrived >= len(load.sent):
            break
        time.sleep(0.2)
    wall_s = time.monotonic() - load.started
    cpu_after, own_after = process_tree_cpu_s(gateway.process.pid), os.times()
    found, not_final = latencies(load.sent)
    cpu_s = {pid: round(cpu_after[pid] - cpu_before.get(pid, 0.0), 2) for pid in cpu_after}
    gateway_cpu_s = cpu_s.pop(str(gateway.process.pid))
    accepted = len(load.sent)
    return {
        "offered_per_s": rate or f"{MAX_CLIENTS} clients back to back",
        "slow_destination": f"1 in {SLOW_EVERY}, answers after {SLOW_HOLD_S:g} s" if slow else None,
        "accepted": accepted,
        "errors": len(load.errors),
        "deferred_by_flow_control": load.deferred,
        "first_error": load.errors[0] if load.errors else None,
        "accepted_per_s": round(accepted / sending_s, 1),
        "not_final": not_final,
        "latency_all": percentiles(found["fast"] + found["slow"]),
        "latency_fast": percentiles(found["fast"]),
        "latency_slow": percentiles(found["slow"]) if slow else None,
        "gateway_cpu_s": round(gateway_cpu_s, 2),
        "gateway_cpu_ms_per_message": round(gateway_cpu_s * 1000 / max(1, accepted), 1),
        "gateway_cpu_percent_of_one_core": round(gateway_cpu_s * 100 / wall_s, 1),
        "child_processes_cpu_s": cpu_s,
        "bench_process_cpu_s": round(
            (own_after.user - own_before.user) + (own_after.system - own_before.system), 2
        ),
        "load_average_1m": [round(load_before, 2), round(os.getloadavg()[0], 2)],
    }


def run_on_fresh_gateway(
    extra_env: dict[str, str], aws_port: int, rate: float | None, seconds: float, slow: bool
) -> dict[str, object]:
    """One load on a gateway of its own: an emulator's cost grows with its state, so each load
    starts from the same empty state whatever ran before it."""
    slow_server = HeldServer(hold_s=SLOW_HOLD_S).start()
    gateway = Gateway(extra_env, aws_port)
    try:
        gateway.start()
        add_slow_tenant(slow_server)
        scenario(gateway, slow_server, 5, 2.0, slow=False)  # warm-up: first invocations import
        return scenario(gateway, slow_server, rate, seconds, slow)
    finally:
        gateway.stop()
        slow_server.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=10.0, help="sending time per load")
    parser.add_argument("--no-baseline", action="store_true", help="skip the baseline gateway")
    args = parser.parse_args()
    aws_port = free_port()
    results = [
        run_on_fresh_gateway({}, aws_port, rate, args.seconds, slow)
        for rate in RATES
        for slow in (False, True)
    ]
    baseline = [
        run_on_fresh_gateway(BASELINE, aws_port, 20, args.seconds, slow)
        for slow in ([] if args.no_baseline else [False, True])
    ]
    no_flow_control = [
        run_on_fresh_gateway(NO_FLOW_CONTROL, aws_port, None, args.seconds, slow)
        for slow in (False, True)
    ]
    print(
        json.dumps(
            {
                "benchmark": "pipeline",
                "run_id": str(uuid.uuid4()),
                "message_bytes": MESSAGE_BYTES,
                "latency": "from the 250 to the final timeline event in tracking, seconds",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "results": results,
                "baseline": {"settings": BASELINE, "results": baseline},
                "no_flow_control": {"settings": NO_FLOW_CONTROL, "results": no_flow_control},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
