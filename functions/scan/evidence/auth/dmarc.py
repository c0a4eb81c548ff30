"""DMARC (RFC 7489): the policy of the header From domain, else of its organizational domain
(the Public Suffix List shipped in ``publicsuffixlist``), and whether SPF or DKIM passed for a
domain aligned with it (relaxed or strict)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import dns.resolver
from publicsuffixlist import PublicSuffixList

from mailgate.config_fields import DOMAIN_RE
from mailgate.dns import DnsUnavailable, txt_records

from .dkim import DkimResult
from .spf import SpfResult

POLICIES = ("none", "quarantine", "reject")


@cache
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def organizational_domain(domain: str) -> str:
    """The registrable domain (``mail.example.co.jp`` → ``example.co.jp``); a public suffix
    itself, or a name the list does not know, is its own."""
    return _psl().privatesuffix(domain) or domain


@dataclass(frozen=True)
class DmarcRecord:
    domain: str  # where the record was found
    policy: str  # p
    subdomain_policy: str  # sp (p when absent)
    percent: int  # pct
    strict_spf: bool  # aspf=s
    strict_dkim: bool  # adkim=s


@dataclass(frozen=True)
class DmarcResult:
    result: str  # pass, fail, none (no usable record), temperror, permerror
    from_domain: str
    record: DmarcRecord | None = None
    policy: str = ""  # the policy that applies to this message, after pct sampling
    spf_aligned: bool = False
    dkim_aligned: bool = False
    # SPF or DKIM passed, but only for domains not aligned with the From domain.
    unaligned_pass: bool = False
    reason: str = ""


def parse(text: str, domain: str) -> DmarcRecord | None:
    """A record's tags (RFC 7489 6.3); None when it is not a usable DMARC record."""
    tags: dict[str, str] = {}
    for part in text.split(";"):
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    if tags.get("v") != "DMARC1" or not text.lstrip().startswith("v"):
        return None
    policy = tags.get("p", "").lower()
    if policy not in POLICIES:
        return None
    subdomain_policy = tags.get("sp", policy).lower()
    if subdomain_policy not in POLICIES:
        subdomain_policy = policy
    try:
        percent = min(max(int(tags.get("pct", "100")), 0), 100)
    except ValueError:
        percent = 100
    return DmarcRecord(
        domain,
        policy,
        subdomain_policy,
        percent,
        strict_spf=tags.get("aspf", "r").lower() == "s",
        strict_dkim=tags.get("adkim", "r").lower() == "s",
    )


def _record_at(domain: str, resolver: dns.resolver.Resolver) -> DmarcRecord | None:
    found = [
        text
        for text in (
            r.decode("utf-8", "replace") for r in txt_records(f"_dmarc.{domain}", resolver)
        )
        if text.lower().startswith("v=dmarc1")
    ]
    # RFC 7489 6.6.3: more than one record is as good as none.
    return parse(found[0], domain) if len(found) == 1 else None


def lookup(from_domain: str, resolver: dns.resolver.Resolver) -> DmarcRecord | None:
    """The record at the From domain, else at its organizational domain; raises
    ``DnsUnavailable`` when either cannot be read now."""
    record = _record_at(from_domain, resolver)
    org = organizational_domain(from_domain)
    if record is None and org != from_domain:
        record = _record_at(org, resolver)
    return record


def aligned(domain: str, from_domain: str, strict: bool) -> bool:
    domain, from_domain = domain.lower().rstrip("."), from_domain.lower().rstrip(".")
    if strict:
        return domain == from_domain
    return bool(domain) and organizational_domain(domain) == organizational_domain(from_domain)


def sampled(raw: bytes, percent: int) -> bool:
    """Whether the policy applies to this message under ``pct``: decided by the message's
    bytes, so a scan that runs again decides the same."""
    return int.from_bytes(hashlib.sha256(raw).digest()[:4], "big") % 100 < percent


def _downgraded(policy: str) -> str:
    """RFC 7489 6.6.4: a message outside ``pct`` gets the next less strict policy."""
    return {"reject": "quarantine", "quarantine": "none"}.get(policy, policy)


def evaluate(
    raw: bytes,
    from_domain: str,
    spf: SpfResult,
    signatures: Sequence[DkimResult],
    resolver: dns.resolver.Resolver,
) -> DmarcResult:
    if not DOMAIN_RE.match(from_domain) or len(from_domain) > 253:
        return DmarcResult("permerror", from_domain, reason="the From domain is not a domain")
    try:
        record = lookup(from_domain, resolver)
    except DnsUnavailable as error:
        return DmarcResult("temperror", from_domain, reason=str(error))
    if record is None:
        return DmarcResult("none", from_domain, reason="no usable DMARC record")
    spf_pass = spf.result == "pass"
    spf_aligned = spf_pass and aligned(spf.domain, from_domain, record.strict_spf)
    passing = [s.domain for s in signatures if s.result == "pass"]
    dkim_aligned = any(aligned(d, from_domain, record.strict_dkim) for d in passing)
    if spf_aligned or dkim_aligned:
        return DmarcResult("pass", from_domain, record, "none", spf_aligned, dkim_aligned)
    policy = record.policy if record.domain == from_domain else record.subdomain_policy
    if not sampled(raw, record.percent):
        policy = _downgraded(policy)
    return DmarcResult(
        "fail", from_domain, record, policy, unaligned_pass=spf_pass or bool(passing)
    )
