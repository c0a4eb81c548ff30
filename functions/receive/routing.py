"""Which tenant a transaction belongs to, from its managed domains (cached briefly)."""

from __future__ import annotations

import time
from collections.abc import Callable

from mailgate.storage.tenants import Domain

CACHE_SECONDS = 30.0


class DomainDirectory:
    def __init__(
        self, lookup: Callable[[str], Domain | None], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self._cache: dict[str, tuple[float, Domain | None]] = {}

    def find(self, name: str) -> Domain | None:
        name = name.lower().rstrip(".")
        now = self._clock()
        cached = self._cache.get(name)
        if cached and now - cached[0] < CACHE_SECONDS:
            return cached[1]
        domain = self._lookup(name)
        self._cache[name] = (now, domain)
        return domain


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
