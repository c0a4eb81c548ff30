"""``mailgate up`` that kills its own process group (SIGKILL) at a point of the journal's work,
the ``CRASH_AFTER``-th time it gets there. ``CRASH_POINT`` is one of:

- ``applied``: moto applied the change, nothing is written to the journal yet;
- ``appended``: the record is written, not yet fsync'd, the client has no answer;
- ``synced``: the record is on disk, the client has no answer;
- ``snapshot``: segments rotated, the snapshot half written to its temporary file.
"""

from __future__ import annotations

import os
import signal
import sys

from local import cli, emulator_process
from local.journal import SNAPSHOT, Journal


def install(point: str, after: int) -> None:
    times = 0

    def reached(here: str) -> bool:
        nonlocal times
        if here != point:
            return False
        times += 1
        return times >= after

    def die() -> None:
        os.killpg(os.getpgid(0), signal.SIGKILL)

    append, sync, write_snapshot = Journal.append, Journal.sync, Journal.write_snapshot

    def crashing_append(self: Journal, record: bytes) -> int:
        if reached("applied"):
            die()
        return append(self, record)

    def crashing_sync(self: Journal, ticket: int) -> None:
        if reached("appended"):
            die()
        sync(self, ticket)
        if reached("synced"):
            die()

    def crashing_write_snapshot(self: Journal, state: bytes, first_segment: int) -> None:
        if reached("snapshot"):
            (self.directory / (SNAPSHOT + ".tmp")).write_bytes(state[: len(state) // 2])
            die()
        write_snapshot(self, state, first_segment)

    Journal.append = crashing_append  # type: ignore[method-assign]
    Journal.sync = crashing_sync  # type: ignore[method-assign]
    Journal.write_snapshot = crashing_write_snapshot  # type: ignore[method-assign]


if __name__ == "__main__":
    # The journal works in the emulator's process: the gateway starts this module as its
    # emulator, which then crashes where it is told.
    install(os.environ["CRASH_POINT"], int(os.environ["CRASH_AFTER"]))
    if "--state-dir" in sys.argv:
        emulator_process.main(sys.argv[1:])
    else:
        emulator_process.ENTRY = "tests.support.crash_at"
        cli.main(["up"])
