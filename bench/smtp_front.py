"""SMTP front throughput, latency and CPU cost, printed as JSON.

Accepted messages per second, p50/p99 latency from the end of DATA (the final ".") to the
"250" reply, and the CPU milliseconds the front's process spends per accepted message, for
10 KB messages with 1, 10 and 50 concurrent clients. Every stage-1 check is on (reputation
lists, tenant block lists and countries, reverse DNS, TLS peers, sender filter, sender domain in
DNS, valid recipients, size, the five rate limits with high ceilings), DNS answers come from a
zone server on loopback, and the hand-off goes to the local emulator as ``mailgate up`` runs it
(moto behind the journal, connections kept; S3 put, SQS job and DynamoDB rows before each
"250").

The front (``python -m functions.receive``), the emulator and a bare aiosmtpd server that only
keeps each message in memory each run in a process of their own; the clients and the DNS zone
server run in this one. Each server's CPU time is read from /proc/<pid>/stat before and after a
run, so ``cpu_ms_per_message`` is that process's alone; the bare server takes the same load in
the same run, as the yardstick (``cpu_ratio`` = front / bare). A second yardstick is the same
bare server making only the writes that must precede a "250" (S3, DynamoDB, SQS through boto3):
``cpu_ratio_to_handoff`` = front / that, what the stage-1 checks and the front's own work cost
on top of storing the mail. All are warmed up first with the highest concurrency, so the figures
are those of a server that has been running a while.

Run: .venv/bin/python bench/smtp_front.py [--messages-per-client N]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from email.utils import formatdate
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from local import bootstrap  # noqa: E402
from local.demo_zone import DEMO_ZONE  # noqa: E402
from local.dns_server import ZoneServer  # noqa: E402
from local.emulator_process import EmulatorProcess  # noqa: E402
from mailgate import aws, resources  # noqa: E402
from mailgate.storage.tenants import TenantConfigStore, TenantStore  # noqa: E402
from mailgate.tenant_config import (  # noqa: E402
    MAX_MESSAGE_BYTES,
    DomainConfig,
    IpReputation,
    Limits,
    MailServer,
    RateLimit,
    RateLimits,
    ReverseDns,
    SenderFilter,
    TenantConfig,
    TlsPeer,
)
from tests.support.ports import free_port  # noqa: E402

MESSAGE_BYTES = 10 * 1024
CONCURRENCY = (1, 10, 50)
ZONES = {
    "qil": "qil.bench.test",
    "kssl": "kssl.bench.test",
    "dul": "dul.bench.test",
    "etl": "etl.bench.test",
}
HIGH = RateLimit(limit=10**9, window_s=3600)
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
WARM_UP_PER_CLIENT = 3


def message(n: int) -> bytes:
    header = (
        f"From: Bench <bench@sender.test>\r\nTo: user{n}@example.com\r\nSubject: bench {n}\r\n"
        f"Date: {formatdate()}\r\nMessage-ID: <bench.{n}.{uuid.uuid4().hex}@sender.test>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
    )
    line = b"x" * 76 + b"\r\n"
    body = line * ((MESSAGE_BYTES - len(header)) // len(line))
    return header.encode() + body


def serve_bare(port: int, handoff: bool) -> None:
    """A bare aiosmtpd server with the front's protocol options. It keeps each message in
    memory, or with ``handoff`` makes the three writes any gateway that stores mail in AWS must
    make before its "250" (the message to S3, a row per recipient to DynamoDB, a job to SQS)
    through boto3, on a thread pool as the front does — nothing else."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from aiosmtpd.controller import Controller

    kept: list[bytes] = []
    pool = ThreadPoolExecutor(max_workers=64)
    environment = dict(os.environ)

    def store(raw: bytes, recipients: list[str]) -> None:
        key = f"bare/{uuid.uuid4()}.eml"
        aws.client("s3").put_object(Bucket=environment[resources.MAIL.env_var], Key=key, Body=raw)
        table = aws.table(environment[resources.TRACKING.env_var])
        with table.batch_writer() as batch:
            for recipient in recipients:
                batch.put_item(Item={"pk": f"bare#{key}", "sk": f"R#{recipient}", "key": key})
        aws.client("sqs").send_message(
            QueueUrl=environment[resources.SCAN_QUEUE.env_var],
            MessageBody=json.dumps({"key": key, "recipients": recipients}),
        )

    class Keep:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            raw = envelope.original_content or b""
            if handoff:
                loop = asyncio.get_running_loop()
                await loop.run_in_executor(pool, store, raw, list(envelope.rcpt_tos))
            else:
                kept.append(raw)
            return "250 2.0.0 OK"

    controller = Controller(
        Keep(),
        hostname="127.0.0.1",
        port=port,
        enable_SMTPUTF8=True,
        decode_data=False,
        data_size_limit=MAX_MESSAGE_BYTES,
    )
    controller.start()
    threading.Event().wait()


def start_server(command: list[str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=os.environ | {"PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
                if sock.recv(3) == b"220":
                    return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit(f"{command} did not start")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of every thread of a process, from /proc/<pid>/stat."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime (fields 14, 15)


def configure(region: str) -> None:
    os.environ.update(bootstrap.create_resources(region))
    table = resources.TENANTS.local_name
    TenantStore(table).put_tenant("bench", "bench")
    config = TenantConfig(
        domains=[
            DomainConfig(
                name="example.com",
                inbound_servers=[MailServer(host="127.0.0.1", port=25)],
                valid_recipients=["user*@example.com"],
            )
        ],
        sender_filter=SenderFilter(blocked_senders=["*@blocked.test"]),
        ip_reputation=IpReputation(blocked_ips=["192.0.2.0/24"], blocked_countries=["AQ"]),
        tls_peers=[TlsPeer(peer="198.51.100.0/24")],
        reverse_dns=ReverseDns(enabled=True, forward_confirmed=True),
        limits=Limits(
            inbound=RateLimits(
                count_ip=HIGH, count_address=HIGH, size_ip=HIGH, size_address=HIGH, size_domain=HIGH
            )
        ),
    )
    TenantConfigStore(table).put("bench", config, expected_version=0)


def client(port: int, count: int, offset: int, latencies: list[float], errors: list[str]) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("mail.sender.test")
        for n in range(offset, offset + count):
            smtp.mail("bench@sender.test", [f"SIZE={MESSAGE_BYTES}"])
            smtp.rcpt(f"user{n}@example.com")
            code, _ = smtp.docmd("DATA")
            if code != 354:
                errors.append(f"DATA {code}")
                continue
            smtp.send(message(n) + b".\r\n")
            started = time.perf_counter()
            code, reply = smtp.getreply()
            latencies.append(time.perf_counter() - started)
            if code != 250:
                errors.append(f"{code} {reply.decode(errors='replace')}")


def run(port: int, pid: int, clients: int, per_client: int) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []
    threads = [
        threading.Thread(target=client, args=(port, per_client, i * per_client, latencies, errors))
        for i in range(clients)
    ]
    cpu_before, started = cpu_seconds(pid), time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed, cpu = time.perf_counter() - started, cpu_seconds(pid) - cpu_before
    ordered = sorted(latencies)
    accepted = len(latencies) - len(errors)
    return {
        "clients": clients,
        "messages": len(latencies),
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "accepted_per_s": round(accepted / elapsed, 1),
        "p50_ms": round(statistics.median(ordered) * 1000, 1),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000, 1),
        "cpu_ms_per_message": round(cpu * 1000 / max(accepted, 1), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages-per-client", type=int, default=0, help="0: about 200 per run")
    parser.add_argument("--serve-bare", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--handoff", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare(args.serve_bare, args.handoff)
        return
    region = "ap-northeast-1"
    aws_port, smtp_port, bare_port, handoff_port = (free_port() for _ in range(4))
    dns = ZoneServer(DEMO_ZONE).start()  # 127.0.0.1 is listed in none of the ZONES
    os.environ.update(
        AWS_ENDPOINT_URL=f"http://127.0.0.1:{aws_port}",
        AWS_ACCESS_KEY_ID="bench",
        AWS_SECRET_ACCESS_KEY="bench",
        AWS_DEFAULT_REGION=region,
        MAILGATE_SMTP_PORT=str(smtp_port),
        MAILGATE_RELAY_PORT=str(free_port()),
        MAILGATE_DNS_SERVERS=dns.address,
        MAILGATE_IP_REPUTATION_ZONES=",".join(f"{k}={v}" for k, v in ZONES.items()),
        MAILGATE_BLOCKED_IPS="192.0.2.66/32",
        MAILGATE_BLOCKED_RECIPIENTS="blocked@example.com",
        MAILGATE_STATE_DIR=tempfile.mkdtemp(prefix="mailgate-bench-"),
        # Nothing consumes the scan queue here: its backlog would turn the front's flow control
        # on and measure the pacing instead of the front.
        MAILGATE_IN_FLOW_BACKLOG="0",
    )
    moto = EmulatorProcess("127.0.0.1", aws_port, Path(os.environ["MAILGATE_STATE_DIR"]), 1 << 26)
    moto.start()
    servers: list[subprocess.Popen[bytes]] = []
    try:
        configure(region)
        front = start_server([sys.executable, "-m", "functions.receive"], smtp_port)
        servers.append(front)
        bare = start_server([sys.executable, __file__, "--serve-bare", str(bare_port)], bare_port)
        servers.append(bare)
        handoff = start_server(
            [sys.executable, __file__, "--serve-bare", str(handoff_port), "--handoff"],
            handoff_port,
        )
        servers.append(handoff)
        # Warm-up, not measured: each server's threads, clients and caches are made on first
        # use (a boto3 resource costs ~0.4 s of CPU per thread), a one-time cost.
        for server, port in ((front, smtp_port), (bare, bare_port), (handoff, handoff_port)):
            run(port, server.pid, max(CONCURRENCY), WARM_UP_PER_CLIENT)
        results = []
        for clients in CONCURRENCY:
            per_client = args.messages_per_client or max(4, 200 // clients)
            result = run(smtp_port, front.pid, clients, per_client)
            yardstick = run(bare_port, bare.pid, clients, per_client)
            with_handoff = run(handoff_port, handoff.pid, clients, per_client)
            result["bare_aiosmtpd"] = yardstick
            result["bare_aiosmtpd_with_handoff"] = with_handoff
            cpu, bare_cpu = result["cpu_ms_per_message"], yardstick["cpu_ms_per_message"]
            result["cpu_ratio"] = round(cpu / max(bare_cpu, 0.01), 2)
            handoff_cpu = with_handoff["cpu_ms_per_message"]
            result["cpu_ratio_to_handoff"] = round(cpu / max(handoff_cpu, 0.01), 2)
            results.append(result)
    finally:
        for server in servers:
            server.terminate()
            server.wait()
        moto.stop()
        dns.stop()
    print(
        json.dumps(
            {
                "benchmark": "smtp_front",
                "run_id": str(uuid.uuid4()),
                "message_bytes": MESSAGE_BYTES,
                "checks": "all stage-1 checks on; hand-off to the local emulator (own process)",
                "cpu": "CPU ms per accepted message of the server's own process; "
                "bare_aiosmtpd keeps messages in memory and does nothing else; "
                "bare_aiosmtpd_with_handoff makes only the S3, DynamoDB and SQS writes that "
                "must precede a 250",
                "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
                "results": results,
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
