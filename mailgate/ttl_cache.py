"""A small cache whose entries live a fixed time, so a configuration change takes effect
within that time without a read per message."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

CACHE_SECONDS = 30.0
T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(
        self, lookup: Callable[[str], T], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._cache: dict[str, tuple[float, T]] = {}

    def find(self, key: str) -> T:
        now = self._clock()
        cached = self._cache.get(key)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        return self.reload(key)

    def reload(self, key: str) -> T:
        value = self._lookup(key)
        self._cache[key] = (self._clock(), value)
        return value
