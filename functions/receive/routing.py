"""Which tenant a transaction belongs to and its configuration, each cached briefly so a
configuration change takes effect within a minute."""

from __future__ import annotations

from mailgate.tenant_config import Domain
from mailgate.ttl_cache import TtlCache


class DomainDirectory(TtlCache[Domain | None]):
    def find(self, key: str) -> Domain | None:
        return super().find(key.lower().rstrip("."))


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()
