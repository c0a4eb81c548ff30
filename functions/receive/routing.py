"""Which tenant a transaction belongs to and its configuration, each cached briefly so a
configuration change takes effect within a minute."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

from mailgate.tenant_config import Domain

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


class DomainDirectory(TtlCache[Domain | None]):
    def find(self, key: str) -> Domain | None:
        return super().find(key.lower().rstrip("."))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
