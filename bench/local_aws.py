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
    state: Path,
    region: str,
    snapshot_bytes: int = 64 * 1024 * 1024,
    create: bool = True,
    endpoint: str | None = None,
) -> Iterator[None]:
    """``create``: make the project's tables, queues and bucket (a state kept from an
    earlier run has them already). ``endpoint``: an emulator already running (started with
    ``python -m local.emulator_process``), which a big state need not restore for every
    command; ``state`` is then its own."""
    emulator = None
    if endpoint is None:
        emulator = EmulatorProcess("127.0.0.1", free_port(), state, snapshot_bytes)
        endpoint = emulator.endpoint
    os.environ.update(
        AWS_ENDPOINT_URL=endpoint,
        AWS_ACCESS_KEY_ID="local",
        AWS_SECRET_ACCESS_KEY="local",
        AWS_DEFAULT_REGION=region,
    )
    if emulator is not None:
        emulator.start()
    try:
        if create:
            os.environ.update(bootstrap.create_resources(region))
        yield
    finally:
        if emulator is not None:
            emulator.stop()
