"""SPF (RFC 7208) through pyspf, its DNS look-ups sent to the configured resolvers.

pyspf looks names up through its module-level ``DNSLookup``; it is replaced once by a function
that asks the resolver of the check in progress (a context variable, so concurrent checks with
different resolvers do not mix). A DNS error is a ``temperror``, never a ``fail``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

import dns.exception
import dns.resolver
import spf

from mailgate.catalog import SPF_RESULTS

_OLD_NAMES = {"unknown": "permerror", "error": "temperror"}
_RESOLVER: ContextVar[dns.resolver.Resolver] = ContextVar("spf_resolver")


@dataclass(frozen=True)
class SpfResult:
    result: str  # one of SPF_RESULTS
    identity: str  # "mailfrom", or "helo" for the null sender
    domain: str  # the domain whose policy was checked
    explanation: str = ""


def _lookup(
    name: str, qtype: str, strict: Any = True, timeout: float | None = None
) -> Iterator[tuple[tuple[str, str], Any]]:
    resolver = _RESOLVER.get()
    try:
        answer = resolver.resolve(name, qtype, lifetime=timeout, raise_on_no_answer=False)
    except dns.resolver.NXDOMAIN:
        return
    except dns.exception.DNSException as error:
        raise spf.TempError(f"DNS {error}") from error
    if answer.rrset is None:
        return
    for rdata in answer.rrset:
        if qtype in ("A", "AAAA"):
            yield (name, qtype), rdata.address
        elif qtype == "MX":
            yield (name, qtype), (rdata.preference, rdata.exchange)
        elif qtype == "PTR":
            yield (name, qtype), rdata.target.to_text(True)
        elif qtype in ("TXT", "SPF"):
            yield (name, qtype), rdata.strings


spf.DNSLookup = _lookup


def check(
    client_ip: str, sender: str, helo: str, resolver: dns.resolver.Resolver, timeout: float = 20.0
) -> SpfResult:
    """The SPF result for mail from ``sender`` (the HELO identity when it is the null sender)
    sent by ``client_ip``; ``timeout`` bounds the whole evaluation."""
    identity = "mailfrom" if sender else "helo"
    domain = (sender.rpartition("@")[2] if sender else helo).lower()
    token = _RESOLVER.set(resolver)
    try:
        query = spf.query(i=client_ip, s=sender, h=helo, querytime=timeout)
        result, _, explanation = query.check()
    except Exception as error:  # pyspf rejects some hostile inputs by raising
        return SpfResult("permerror", identity, domain, f"{type(error).__name__}: {error}")
    finally:
        _RESOLVER.reset(token)
    result = _OLD_NAMES.get(result, result)
    return SpfResult(
        result if result in SPF_RESULTS else "permerror", identity, domain, explanation
    )
