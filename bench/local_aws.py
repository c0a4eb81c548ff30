"""The local AWS emulator for a benchmark: in a process of its own on a free port, with this
process's boto3 clients pointed at it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from local import bootstrap
from local.emulator_process import EmulatorProcess
from tests.support.ports import free_port


@contextmanager
def local_aws(
    state: Path, region: str, snapshot_bytes: int = 64 * 1024 * 1024, create: bool = True
) -> Iterator[None]:
    """``create``: make the project's tables, queues and bucket (a state kept from an
    earlier run has them already)."""
    emulator = EmulatorProcess("127.0.0.1", free_port(), state, snapshot_bytes)
    os.environ.update(
        AWS_ENDPOINT_URL=emulator.endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=region,
    )
    emulator.start()
    try:
        if create:
            os.environ.update(bootstrap.create_resources(region))
        yield
    finally:
        emulator.stop()
