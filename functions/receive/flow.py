"""Inbound flow control: when the stages behind the front fall behind, the front answers MAIL
FROM more slowly, so senders slow down instead of the backlog (and the time from "250" to
delivery) growing without bound — what Postfix's ``in_flow_delay`` does. A delay alone cannot
bound the backlog: enough clients outpace any delay. So past twice the threshold the front
refuses new transactions with a temporary reply, as Exchange's back pressure does; the senders
retry later, and the mail already accepted keeps a bounded time to delivery.

The backlog is the number of jobs waiting for (or held by) the scan stage plus the jobs waiting
for a delivery worker; delayed retries and deliveries in progress do not count, so a slow
destination holds back only its own mail. It is read at most once per ``refresh_s`` from the
queues, shared by every session of the front.

A fixed threshold bounds the backlog in jobs, not in seconds: how long 30 jobs wait depends on
how fast the stages behind drain them, which a busy machine changes from minute to minute. With
a target wait, the front learns that rate itself (between two reads, the jobs it handed off
minus the growth of the backlog, while the stages are busy) and refuses beyond the backlog the
stages finish within the target; the fixed threshold stays the ceiling.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable

from mailgate.observability import logger

Backlog = Callable[[], int]
REFUSE_AT = 2  # times the threshold
MIN_THRESHOLD = 2  # jobs: below this a busy stage looks idle between two reads
RATE_WEIGHT = 0.2  # of each new sample in the learnt rate, about the last 2.5 s of reads


class DrainRate:
    """Jobs per second the stages behind the front finish, learnt while they have work: an idle
    stage finishes only what it is given, which says nothing of what it could."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._handed_off = 0
        self._last: tuple[float, int] | None = None  # (time, backlog) of the last read
        self.per_second: float | None = None

    def handed_off(self, jobs: int) -> None:
        with self._lock:
            self._handed_off += jobs

    def observe(self, at: float, backlog: int) -> None:
        with self._lock:
            handed_off, self._handed_off = self._handed_off, 0
        last, self._last = self._last, (at, backlog)
        if last is None or at <= last[0] or last[1] < MIN_THRESHOLD:
            return
        sample = max(handed_off - (backlog - last[1]), 0) / (at - last[0])
        known = self.per_second
        self.per_second = sample if known is None else known + RATE_WEIGHT * (sample - known)


class InFlow:
    def __init__(
        self,
        backlog: Backlog,
        threshold: int,
        max_delay_s: float,
        run_blocking: Callable[[Backlog], Awaitable[int]],
        target_wait_s: float = 0.0,
        refresh_s: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._backlog = backlog
        self._ceiling = threshold
        self._target_wait_s = target_wait_s
        self.drain = DrainRate()
        self._max_delay_s = max_delay_s
        self._run_blocking = run_blocking
        self._refresh_s = refresh_s
        self._clock = clock
        self._read_at = -refresh_s
        self._known = 0
        self._reading: asyncio.Lock | None = None

    @property
    def threshold(self) -> int:
        """The configured one, or with a target wait the backlog the stages finish in half of
        it at the rate learnt (at most the configured one, at least MIN_THRESHOLD)."""
        rate = self.drain.per_second
        if self._ceiling <= 0 or self._target_wait_s <= 0 or rate is None:
            return self._ceiling
        learnt = round(rate * self._target_wait_s / REFUSE_AT)
        return min(self._ceiling, max(MIN_THRESHOLD, learnt))

    def delay_for(self, backlog: int) -> float | None:
        """Nothing up to the threshold, then growing with the backlog to the full delay at
        twice the threshold; None (refuse for now) beyond."""
        threshold = self.threshold
        if threshold <= 0 or backlog <= threshold:
            return 0.0
        if backlog > REFUSE_AT * threshold:
            return None
        over = (backlog - threshold) / threshold
        return self._max_delay_s * over

    async def pace(self) -> float | None:
        """Wait as long as the current backlog asks; returns the seconds waited, or None when
        the transaction must be refused for now."""
        delay = self.delay_for(await self._current())
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
                self._read_at = self._clock()
                self.drain.observe(self._read_at, self._known)
        return self._known
