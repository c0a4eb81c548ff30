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
from typing import Any

from local import cli
from local.journal import SNAPSHOT, Journal

POINT = os.environ["CRASH_POINT"]
AFTER = int(os.environ["CRASH_AFTER"])
_times = 0


def _reached() -> bool:
    global _times
    _times += 1
    return _times >= AFTER


def _die() -> None:
    os.killpg(os.getpgid(0), signal.SIGKILL)


append, sync, write_snapshot = Journal.append, Journal.sync, Journal.write_snapshot


def crashing_append(self: Journal, record: bytes) -> int:
    if POINT == "applied" and _reached():
        _die()
    return append(self, record)


def crashing_sync(self: Journal, ticket: int) -> None:
    if POINT == "appended" and _reached():
        _die()
    sync(self, ticket)
    if POINT == "synced" and _reached():
        _die()


def crashing_write_snapshot(self: Journal, state: bytes, first_segment: int) -> None:
    if POINT == "snapshot" and _reached():
        (self.directory / (SNAPSHOT + ".tmp")).write_bytes(state[: len(state) // 2])
        _die()
    write_snapshot(self, state, first_segment)


patches: dict[str, Any] = {
    "append": crashing_append,
    "sync": crashing_sync,
    "write_snapshot": crashing_write_snapshot,
}
for name, function in patches.items():
    setattr(Journal, name, function)

if __name__ == "__main__":
    cli.main(["up"])
