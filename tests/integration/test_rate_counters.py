"""Rate counters as stored: a front reuses a count it read a moment ago (plus its own
additions) instead of reading it for every RCPT, sees other containers' additions once that
moment has passed, and keeps refusing a sender it has seen at its limit."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from mailgate import aws, resources
from mailgate.ports import Increment
from mailgate.storage.counters import READ_FRESH_S, RateCounters
from tests.integration.conftest import Gateway

WINDOW_S = 3600


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0 - 1_800_000_000.0 % WINDOW_S + 10

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def key() -> str:
    return f"test#{uuid.uuid4()}"


@pytest.fixture
def reads(gateway: Gateway, key: str) -> Iterator[list[Any]]:
    """The reads of this test's counters (the gateway in this process reads tables too)."""
    seen: list[Any] = []
    events = aws.client("dynamodb").meta.events

    def count(params: dict[str, Any], **_: Any) -> None:
        wanted = params["RequestItems"].get(resources.COUNTERS.local_name, {})
        if any(k["pk"]["S"].startswith(key) for k in wanted.get("Keys", [])):
            seen.append(params)

    events.register("before-parameter-build.dynamodb.BatchGetItem", count)
    yield seen
    events.unregister("before-parameter-build.dynamodb.BatchGetItem", count)


def _counters(clock: Clock) -> RateCounters:
    return RateCounters(resources.COUNTERS.local_name, clock=clock)


def _add(counters: RateCounters, key: str, amount: int = 1, limit: int = 100) -> int | None:
    return counters.add_all([Increment(key, amount, limit, WINDOW_S)])


def test_a_fresh_count_is_reused_with_this_process_additions(reads: list[Any], key: str) -> None:
    clock = Clock()
    front = _counters(clock)

    assert front.current([(key, WINDOW_S)]) == [0]
    assert _add(front, key, amount=2) is None
    clock.now += READ_FRESH_S / 2

    assert front.current([(key, WINDOW_S)]) == [2]
    assert len(reads) == 1


def test_another_containers_additions_are_seen_once_the_read_is_not_fresh(
    reads: list[Any], key: str
) -> None:
    clock = Clock()
    front, other = _counters(clock), _counters(clock)
    assert front.current([(key, WINDOW_S)]) == [0]

    assert _add(other, key, amount=3) is None
    clock.now += READ_FRESH_S

    assert front.current([(key, WINDOW_S)]) == [3]
    assert len(reads) == 2


def test_a_sender_refused_at_its_limit_stays_refused_without_a_read(
    reads: list[Any], key: str
) -> None:
    clock = Clock()
    front, other = _counters(clock), _counters(clock)
    for _ in range(3):  # another container took the sender to its limit of 3
        assert _add(other, key, limit=3) is None

    assert _add(front, key, limit=3) == 0  # refused by the stored count, not a read
    assert front.current([(key, WINDOW_S)]) == [3]
    assert reads == []


def test_a_new_window_is_read_afresh(reads: list[Any], key: str) -> None:
    clock = Clock()
    front = _counters(clock)
    assert _add(front, key, amount=5) is None
    assert front.current([(key, WINDOW_S)]) == [5]

    clock.now += WINDOW_S

    assert front.current([(key, WINDOW_S)]) == [0]
    assert len(reads) == 2
