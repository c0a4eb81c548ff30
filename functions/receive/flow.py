"""Inbound flow control: when the stages behind the front fall behind, the front answers MAIL
FROM more slowly, so senders slow down instead of the backlog (and the time from "250" to
delivery) growing without bound — what Postfix's ``in_flow_delay`` does. A delay alone cannot
bound the backlog: enough clients outpace any delay. So past twice the threshold the front
refuses new transactions with a temporary reply, as Exchange's back pressure does; the senders
retry later, and the mail already accepted keeps a bounded time to delivery.

The backlog is the number of jobs waiting for (or held by) the scan stage plus the jobs waiting
for a delivery worker; delayed retries and deliveries in progress do not count, so a slow
destination holds back only its own mail. It is read at most once per ``refresh_s`` from the
queues, shared by every session of the front; each transaction let through since the last read
counts as one more job, so a burst of clients arriving between two reads cannot all pass on
one low reading (at 20 clients that burst alone was 2 s of work for the stages).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from mailgate.observability import logger

Backlog = Callable[[], int]
REFUSE_AT = 2  # times the threshold


class InFlow:
    def __init__(
        self,
        backlog: Backlog,
        threshold: int,
        max_delay_s: float,
        run_blocking: Callable[[Backlog], Awaitable[int]],
        refresh_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backlog = backlog
        self._threshold = threshold
        self._max_delay_s = max_delay_s
        self._run_blocking = run_blocking
        self._refresh_s = refresh_s
        self._clock = clock
        self._read_at = -refresh_s
        self._known = 0
        self._admitted = 0  # transactions let through since the last read
        self._reading: asyncio.Lock | None = None

    def delay_for(self, backlog: int) -> float | None:
        """Nothing up to the threshold, then growing with the backlog to the full delay at
        twice the threshold; None (refuse for now) beyond."""
        if self._threshold <= 0 or backlog <= self._threshold:
            return 0.0
        if backlog > REFUSE_AT * self._threshold:
            return None
        over = (backlog - self._threshold) / self._threshold
        return self._max_delay_s * over

    async def pace(self) -> float | None:
        """Wait as long as the current backlog asks; returns the seconds waited, or None when
        the transaction must be refused for now."""
        if self._threshold <= 0:  # turned off: the queues are not read either
            return 0.0
        delay = self.delay_for(await self._current() + self._admitted)
        if delay is None:
            return None
        self._admitted += 1
        if delay:
            await asyncio.sleep(delay)
        return delay

    async def _current(self) -> int:
        if self._clock() - self._read_at < self._refresh_s:
            return self._known
        if self._reading is None:
            self._reading = asyncio.Lock()
        async with self._reading:  # one read for all the sessions that find it stale
            if self._clock() - self._read_at >= self._refresh_s:
                try:
                    self._known = await self._run_blocking(self._backlog)
                except Exception:  # the queues cannot be read: accept at full speed
                    logger.warning("backlog unreadable; flow control paused", exc_info=True)
                    self._known = 0
                self._admitted = 0
                self._read_at = self._clock()
        return self._known
