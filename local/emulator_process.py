"""The durable AWS emulator in a process of its own, started and stopped by ``mailgate up``.

Every AWS call of the gateway is answered by moto. In the gateway's own interpreter both sides
of each call take turns on one core (one DynamoDB PutItem round trip costs about 3.7 ms of
CPU); in a child process the emulator has a core of its own. The child stays in the gateway's
process group, so a kill of the group takes both; it ignores Ctrl-C (the gateway stops it
last, with a snapshot) and stops by itself if the gateway dies first.

The child tells its parent on standard output: ``ready``, or ``failed <sentence>``.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from local.aws_emulator import AwsEmulator
from local.journal import DamagedSnapshot
from mailgate.observability import log_through_shared_logger

ENTRY = "local.emulator_process"  # the module the child runs
READY = "ready"
FAILED = "failed "
STOP_WAIT_S = 60.0


class EmulatorFailed(Exception):
    """The emulator could not start; the message says why."""


class EmulatorProcess:
    def __init__(self, bind: str, port: int, state_dir: Path, snapshot_bytes: int) -> None:
        self.endpoint = f"http://{bind}:{port}"
        self._argv = [
            *("--bind", bind),
            *("--port", str(port)),
            *("--state-dir", str(state_dir)),
            *("--snapshot-bytes", str(snapshot_bytes)),
        ]
        self._process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        # No time limit: restoring a long journal takes a while; a child that dies ends the read.
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", ENTRY, *self._argv], stdout=subprocess.PIPE, text=True
        )
        self._process = process
        assert process.stdout is not None
        with process.stdout:
            answer = process.stdout.readline().rstrip("\n")
        if answer == READY:
            return
        process.wait()
        self._process = None
        if answer.startswith(FAILED):
            raise EmulatorFailed(answer.removeprefix(FAILED))
        raise EmulatorFailed(
            f"the local AWS emulator stopped while starting (exit status {process.returncode})"
        )

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            self._process.kill()  # the journal holds every change it answered
            self._process.wait()
        self._process = None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mailgate-aws")
    parser.add_argument("--bind", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--snapshot-bytes", type=int, required=True)
    args = parser.parse_args(argv)
    # Standard output is the answer to the parent; everything else printed goes to the
    # parent's standard error, as the logs of ``mailgate up`` do.
    answer = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    log_through_shared_logger(terminal=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    parent = os.getppid()
    emulator = AwsEmulator(args.bind, args.port, args.state_dir, args.snapshot_bytes)
    try:
        emulator.start()
    except DamagedSnapshot as error:
        print(f"{FAILED}{error}", file=answer, flush=True)
        raise SystemExit(2) from None
    print(READY, file=answer, flush=True)
    answer.close()
    while not stopping.wait(1.0):
        if os.getppid() != parent:  # the gateway died without stopping us
            break
    emulator.stop()


if __name__ == "__main__":
    main()
