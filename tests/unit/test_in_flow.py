"""Inbound flow control: no delay while the stages keep up, a growing one when they fall behind,
one backlog read shared by concurrent sessions, and no refusal when the queues cannot be read."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from functions.receive.flow import InFlow


class Reader:
    def __init__(self, *answers: int | Exception) -> None:
        self.answers = list(answers)
        self.reads = 0

    def __call__(self) -> int:
        self.reads += 1
        answer = self.answers[min(self.reads, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


async def direct(read: Callable[[], int]) -> int:
    await asyncio.sleep(0)
    return read()


def flow(reader: Reader, threshold: int = 10, delay: float = 0.2) -> InFlow:
    return InFlow(reader, threshold, delay, direct, refresh_s=60)


@pytest.mark.parametrize(("backlog", "delay"), [(0, 0.0), (10, 0.0), (15, 0.1), (20, 0.2)])
def test_the_delay_grows_with_the_backlog_above_the_threshold(backlog: int, delay: float) -> None:
    assert flow(Reader(0)).delay_for(backlog) == pytest.approx(delay)


@pytest.mark.parametrize("backlog", [21, 500])
def test_past_twice_the_threshold_the_transaction_is_refused(backlog: int) -> None:
    assert flow(Reader(0)).delay_for(backlog) is None
    assert asyncio.run(flow(Reader(backlog)).pace()) is None


def test_a_threshold_of_zero_turns_it_off() -> None:
    assert flow(Reader(0), threshold=0).delay_for(10_000) == 0.0


def test_sessions_wait_while_the_backlog_is_high_and_share_one_read() -> None:
    reader = Reader(20)
    gate = flow(reader)

    async def sessions() -> list[float]:
        return list(await asyncio.gather(*(gate.pace() for _ in range(20))))

    waited = asyncio.run(sessions())
    assert waited == [0.2] * 20 and reader.reads == 1


def test_an_unreadable_backlog_does_not_hold_mail_back() -> None:
    gate = flow(Reader(RuntimeError("queue service down")))
    assert asyncio.run(gate.pace()) == 0.0


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def learning(reader: Reader, clock: Clock, ceiling: int = 100) -> InFlow:
    return InFlow(reader, ceiling, 0.2, direct, target_wait_s=2.0, refresh_s=1.0, clock=clock)


def read_every_second(gate: InFlow, clock: Clock, reads: int, handed_off: int) -> None:
    for _ in range(reads):
        clock.now += 1.0
        gate.drain.handed_off(handed_off)
        asyncio.run(gate.pace())


def test_with_a_target_wait_the_threshold_follows_the_rate_the_stages_finish_at() -> None:
    clock = Clock()
    # the stages hold 40 jobs and finish 10 a second more than the front hands them
    reader = Reader(*range(40, 0, -10))
    gate = learning(reader, clock)
    assert gate.threshold == 100  # nothing learnt yet: the configured one
    read_every_second(gate, clock, reads=4, handed_off=5)
    assert gate.drain.per_second == pytest.approx(15.0)
    assert gate.threshold == 15  # 2 s of jobs at 15 a second is refused beyond 30
    assert gate.delay_for(31) is None and gate.delay_for(15) == 0.0


def test_the_configured_threshold_stays_the_ceiling() -> None:
    clock = Clock()
    gate = learning(Reader(*range(400, 0, -100)), clock, ceiling=20)
    read_every_second(gate, clock, reads=4, handed_off=0)
    assert gate.drain.per_second == pytest.approx(100.0) and gate.threshold == 20


def test_an_idle_pipeline_teaches_nothing() -> None:
    """Jobs finished as fast as they come say nothing of how many more the stages could take:
    a quiet hour must not make the first burst after it look like an overload."""
    clock = Clock()
    gate = learning(Reader(0), clock)
    read_every_second(gate, clock, reads=5, handed_off=1)
    assert gate.drain.per_second is None and gate.threshold == 100


def test_stages_that_finish_nothing_bring_the_threshold_to_its_floor() -> None:
    clock = Clock()
    gate = learning(Reader(30), clock)
    read_every_second(gate, clock, reads=4, handed_off=0)
    assert gate.drain.per_second == 0.0 and gate.threshold == 2
    assert gate.delay_for(5) is None
