"""Stage 3's SMTP client: deliveries per second to a loopback server and the CPU it costs,
printed as JSON.

One 10 KB message, one recipient, a new session per delivery (as each deliver job opens one),
in plain text and with STARTTLS (a self-signed certificate; opportunistic TLS, so no
verification). The receiving server (aiosmtpd, keeping nothing) runs in a process of its own,
so ``cpu_ms_per_delivery`` (this process's user + system time over the run, divided by the
deliveries) is the client's alone. Deliveries run one after another: the figure is one deliver
invocation's rate, which the queue runner multiplies by its concurrency.

Run: .venv/bin/python bench/deliver.py [--deliveries N]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from functions.deliver.routing import Server  # noqa: E402
from functions.deliver.smtp_client import deliver  # noqa: E402
from functions.deliver.tls_policy import OPPORTUNISTIC  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

RAW = (
    b"From: bench@sender.test\r\nTo: user@example.com\r\nSubject: bench\r\n\r\n"
    + (b"x" * 76 + b"\r\n") * 128
)  # about 10 KB


class _Discard:
    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 2.0.0 Accepted"


def _serve(port: int, tls: bool, ready: Any) -> None:
    from aiosmtpd.controller import Controller

    from mailgate.tls import self_signed, server_context

    context = None
    if tls:
        context = server_context(*self_signed("bench.test", Path(tempfile.mkdtemp())))
    controller = Controller(_Discard(), hostname="127.0.0.1", port=port, tls_context=context)
    controller.start()
    ready.set()
    while True:
        time.sleep(60)


def _run(deliveries: int, tls: bool) -> dict[str, float]:
    port = free_port()
    ready = multiprocessing.Event()
    server = multiprocessing.Process(target=_serve, args=(port, tls, ready), daemon=True)
    server.start()
    try:
        if not ready.wait(30):
            raise RuntimeError("the bench server did not start")
        target = [Server("bench.test", "127.0.0.1", port)]

        def one() -> None:
            attempt = deliver(
                target,
                "bench@sender.test",
                ["user@example.com"],
                RAW,
                OPPORTUNISTIC,
                helo="gateway.bench",
                timeout=10.0,
            )
            if not attempt.replies["user@example.com"].accepted or (attempt.tls != "none") != tls:
                raise RuntimeError(f"delivery failed: {attempt}")

        for _ in range(min(20, deliveries)):  # warm up
            one()
        cpu, wall = os.times(), time.perf_counter()
        for _ in range(deliveries):
            one()
        elapsed = time.perf_counter() - wall
        after = os.times()
        used = (after.user - cpu.user) + (after.system - cpu.system)
    finally:
        server.kill()
        server.join()
    return {
        "deliveries_per_s": round(deliveries / elapsed, 1),
        "cpu_ms_per_delivery": round(used * 1000 / deliveries, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=500)
    args = parser.parse_args()
    print(
        json.dumps(
            {
                "deliveries": args.deliveries,
                "message_bytes": len(RAW),
                "plain": _run(args.deliveries, tls=False),
                "tls": _run(args.deliveries, tls=True),
                "python": platform.python_version(),
                "cpus": os.cpu_count(),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
