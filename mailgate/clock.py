from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def utcnow() -> datetime:
    return datetime.now(UTC) + _offset


@contextmanager
def travel(to: datetime) -> Iterator[None]:
    """For tests: inside the block the clock reads ``to`` and runs on from it, for every
    thread of the process (the local gateway's included)."""
    global _offset
    _offset = to - datetime.now(UTC)
    try:
        yield
    finally:
        _offset = timedelta(0)


def iso(moment: datetime) -> str:
    """UTC ISO 8601 with microseconds and "Z": fixed width, so strings sort as times."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_iso(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))
