"""moto's server mode in-process, with its state kept on disk across restarts.

moto keeps everything in memory. The DynamoDB, S3 and Secrets Manager backends are pickled to
the state directory every few seconds and at stop (an abrupt kill loses at most that interval);
SQS backends hold locks and cannot be pickled, so their messages are saved as JSON and sent
again at start. The state files are read only from the gateway's own state directory.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import threading
from pathlib import Path
from typing import Any

from moto.backends import get_backend
from moto.s3.models import s3_backends
from moto.server import ThreadedMotoServer

log = logging.getLogger(__name__)

PICKLED = ("dynamodb", "s3", "secretsmanager")
SNAPSHOT = "aws-state.pickle"
QUEUED = "sqs-messages.json"


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)


def _register_buckets() -> None:
    """moto keeps the bucket-name registry outside its backends; without it, the bootstrap's
    ``create_bucket`` would replace a restored bucket with an empty one."""
    for regions in s3_backends.values():
        for backend in regions.values():
            for bucket in backend.buckets.values():
                s3_backends.bucket_accounts[bucket.name] = (bucket.partition, bucket.account_id)


class AwsEmulator:
    def __init__(self, bind: str, port: int, state_dir: Path, interval_s: float) -> None:
        self.endpoint = f"http://{bind}:{port}"
        self._server = ThreadedMotoServer(ip_address=bind, port=port, verbose=False)
        self._state_dir = state_dir
        self._interval_s = interval_s
        self._stopping = threading.Event()
        self._saver: threading.Thread | None = None

    def start(self) -> None:
        self._server.start()
        self._restore_backends()

    def start_saving(self) -> None:
        self._saver = threading.Thread(target=self._save_loop, name="aws-state", daemon=True)
        self._saver.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._saver is not None:
            self._saver.join()
        self.save()
        self._server.stop()

    def save(self) -> None:
        for _ in range(3):  # a backend changed while being copied: take it again
            try:
                snapshot = pickle.dumps(
                    {name: dict(get_backend(name)) for name in PICKLED}  # type: ignore[call-overload]
                )
                messages = json.dumps(self._queued_messages()).encode()
                break
            except RuntimeError:
                continue
        else:
            log.warning("could not snapshot the local AWS state; keeping the previous one")
            return
        _atomic_write(self._state_dir / SNAPSHOT, snapshot)
        _atomic_write(self._state_dir / QUEUED, messages)

    def saved_messages(self) -> dict[str, list[str]]:
        """Queue name → message bodies saved at the last stop, to send again after start."""
        path = self._state_dir / QUEUED
        if not path.exists():
            return {}
        saved: dict[str, list[str]] = json.loads(path.read_text())
        return saved

    def _restore_backends(self) -> None:
        path = self._state_dir / SNAPSHOT
        if not path.exists():
            return
        snapshot: dict[str, dict[str, Any]] = pickle.loads(path.read_bytes())  # noqa: S301
        for name, accounts in snapshot.items():
            backend: Any = get_backend(name)  # type: ignore[call-overload]
            for account, regions in accounts.items():
                backend[account] = regions
        _register_buckets()

    def _queued_messages(self) -> dict[str, list[str]]:
        queued: dict[str, list[str]] = {}
        for regions in get_backend("sqs").values():
            for backend in regions.values():
                for name, queue in list(backend.queues.items()):
                    queued[name] = [message.body for message in list(queue._messages)]
        return queued

    def _save_loop(self) -> None:
        while not self._stopping.wait(self._interval_s):
            try:
                self.save()
            except OSError:
                log.exception("could not save the local AWS state")
