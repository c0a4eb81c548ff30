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


def test_a_threshold_of_zero_turns_it_off_without_reading_the_queues() -> None:
    reader = Reader(10_000)
    gate = flow(reader, threshold=0)

    assert gate.delay_for(10_000) == 0.0
    assert asyncio.run(gate.pace()) == 0.0
    assert reader.reads == 0


def test_a_burst_of_sessions_shares_one_read_and_each_one_let_through_counts() -> None:
    reader = Reader(15)
    gate = flow(reader)

    async def sessions() -> list[float | None]:
        return list(await asyncio.gather(*(gate.pace() for _ in range(10))))

    waited = asyncio.run(sessions())
    # 15, 16, ... 20 jobs: a growing delay; beyond twice the threshold: refused for now
    assert waited == pytest.approx([0.1, 0.12, 0.14, 0.16, 0.18, 0.2, None, None, None, None])
    assert reader.reads == 1


def test_a_new_read_replaces_the_count_of_sessions_let_through() -> None:
    reader = Reader(20, 0)
    clock = [0.0]
    gate = InFlow(reader, 10, 0.0, direct, refresh_s=1, clock=lambda: clock[0])

    async def sessions(count: int) -> list[float | None]:
        return [await gate.pace() for _ in range(count)]

    assert asyncio.run(sessions(2)) == [0.0, None]  # 20 waiting, then 21 with the first
    clock[0] = 5.0  # the stages caught up
    assert asyncio.run(sessions(3)) == [0.0, 0.0, 0.0]
    assert reader.reads == 2


def test_an_unreadable_backlog_does_not_hold_mail_back() -> None:
    gate = flow(Reader(RuntimeError("queue service down")))
    assert asyncio.run(gate.pace()) == 0.0
