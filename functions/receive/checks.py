"""Stage 1: the receive checks, one small unit each, run in the declared order.

A check looks at one transaction (one tenant's view of it: for inbound mail the recipient's
tenant, for the relay the sender's) and returns a ``Refusal`` or ``None`` ("no opinion").
``CHECKS`` is the pipeline: the SMTP front runs the checks of a stage (MAIL, RCPT, DATA) for the
transaction's direction, stopping at the first refusal.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from functions.receive.replies import BARE_LINE_ENDING, REPLIES, TLS_TOO_OLD
from mailgate.catalog import BlockReason as R
from mailgate.catalog import Direction
from mailgate.config_fields import in_networks, pattern_matches
from mailgate.dns import DomainStatus
from mailgate.peer import Peer
from mailgate.ports import Counters, Increment, Lookups
from mailgate.tenant_config import (
    DomainConfig,
    RateLimit,
    ReputationList,
    TenantConfig,
    tls_at_least,
)

Stage = Literal["mail", "rcpt", "data"]
INBOUND = frozenset({Direction.INBOUND})
OUTBOUND = frozenset({Direction.OUTBOUND})
BOTH = INBOUND | OUTBOUND
REPUTATION: dict[ReputationList, R] = {
    "qil": R.SENDER_IP_QIL,
    "kssl": R.SENDER_IP_KSSL,
    "dul": R.SENDER_IP_DUL,
    "etl": R.SENDER_IP_ETL,
}
BARE_CR_OR_LF = re.compile(rb"\r(?!\n)|(?<!\r)\n")


@dataclass(frozen=True)
class SystemPolicy:
    """Deployment-wide settings: internal block lists and the DNS zone of each reputation list."""

    blocked_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    blocked_recipients: tuple[str, ...] = ()
    reputation_zones: dict[str, str] = field(default_factory=dict)


@dataclass
class Transaction:
    peer: Peer
    sender: str  # "" for the null sender
    tenant_id: str
    config: TenantConfig
    domain: DomainConfig  # the recipient's (inbound) or the sender's (outbound) managed domain
    declared_size: int | None = None
    recipient: str = ""
    raw: bytes = b""


@dataclass(frozen=True)
class Refusal:
    reason: R
    reply: str


@dataclass
class Services:
    lookups: Lookups
    counters: Counters
    system: SystemPolicy


def refuse(reason: R, tx: Transaction, reply: str | None = None) -> Refusal:
    template = reply or REPLIES[reason]
    return Refusal(
        reason,
        template.format(
            ip=tx.peer.ip,
            sender=tx.sender,
            sender_domain=_domain_of(tx.sender) or "<>",
            recipient=tx.recipient,
            domain=tx.domain.name,
            version=tx.peer.tls,
        ),
    )


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower() if address else ""


# -- the checks -------------------------------------------------------------------------------


def system_ip_block(tx: Transaction, s: Services) -> Refusal | None:
    if in_networks(tx.peer.ip, s.system.blocked_networks):
        return refuse(R.SENDER_IP_BLOCKED, tx)
    return None


def relay_allowed(tx: Transaction, s: Services) -> Refusal | None:
    if not tx.domain.outbound.enabled:
        return refuse(R.OTHER, tx)
    if not in_networks(tx.peer.ip, tx.domain.outbound.sending_servers):
        return refuse(R.SENDER_IP_NOT_ALLOWED, tx)
    return None


def tenant_ip_blocklist(tx: Transaction, s: Services) -> Refusal | None:
    reputation = tx.config.ip_reputation
    if in_networks(tx.peer.ip, reputation.blocked_ips):
        return refuse(R.SENDER_IP_BLOCKLIST, tx)
    if reputation.blocked_countries and s.lookups.country(tx.peer.ip) in set(
        reputation.blocked_countries
    ):
        return refuse(R.SENDER_IP_BLOCKLIST, tx)
    return None


def ip_reputation(tx: Transaction, s: Services) -> Refusal | None:
    reputation = tx.config.ip_reputation
    if in_networks(tx.peer.ip, reputation.approved_ips):
        return None  # approved IPs skip the reputation lists
    for name, reason in REPUTATION.items():
        zone = s.system.reputation_zones.get(name)
        if zone and reputation.lists.get(name, True) and s.lookups.listed(tx.peer.ip, zone):
            return refuse(reason, tx)
    return None


def reverse_dns(tx: Transaction, s: Services) -> Refusal | None:
    setting = tx.config.reverse_dns
    if not setting.enabled:
        return None
    if not s.lookups.ptr_names(tx.peer.ip):
        return refuse(R.REVERSE_DNS_FAILED, tx)
    if setting.forward_confirmed and not s.lookups.verified_ptr_names(tx.peer.ip):
        return refuse(R.REVERSE_DNS_FAILED, tx)
    return None


def _peer_matches(peer: str, tx: Transaction, s: Services) -> bool:
    try:
        network = ipaddress.ip_network(peer)
    except ValueError:
        names = [tx.peer.helo.lower().rstrip("."), *s.lookups.verified_ptr_names(tx.peer.ip)]
        return any(name == peer or name.endswith("." + peer) for name in names)
    return ipaddress.ip_address(tx.peer.ip) in network


def tls_peer(tx: Transaction, s: Services) -> Refusal | None:
    for rule in tx.config.tls_peers:
        if not _peer_matches(rule.peer, tx, s):
            continue
        if tx.peer.tls == "none":
            return refuse(R.TLS_NOT_AVAILABLE, tx)
        if rule.min_version and not tls_at_least(tx.peer.tls, rule.min_version):
            reply = TLS_TOO_OLD.replace("{minimum}", rule.min_version)
            return refuse(R.TLS_NOT_AVAILABLE, tx, reply)
    return None


def sender_filter(tx: Transaction, s: Services) -> Refusal | None:
    if tx.sender and any(
        pattern_matches(p, tx.sender) for p in tx.config.sender_filter.blocked_senders
    ):
        return refuse(R.SENDER_BLOCKED, tx)
    return None


def sender_domain(tx: Transaction, s: Services) -> Refusal | None:
    domain = _domain_of(tx.sender)
    if not domain:
        return None  # the null sender has no domain to check
    return _domain_check(domain, tx, s, R.SENDER_DOMAIN_NOT_FOUND, R.SENDER_DOMAIN_MALFORMED)


def recipient_blocked(tx: Transaction, s: Services) -> Refusal | None:
    if any(pattern_matches(p, tx.recipient) for p in s.system.blocked_recipients):
        return refuse(R.RECIPIENT_BLOCKED, tx)
    return None


def recipient_valid(tx: Transaction, s: Services) -> Refusal | None:
    valid = tx.domain.valid_recipients
    if valid and not any(pattern_matches(p, tx.recipient) for p in valid):
        return refuse(R.RECIPIENT_INVALID, tx)
    return None


def recipient_domain(tx: Transaction, s: Services) -> Refusal | None:
    return _domain_check(
        _domain_of(tx.recipient), tx, s, R.RECIPIENT_DOMAIN_NOT_FOUND, R.RECIPIENT_DOMAIN_MALFORMED
    )


def _domain_check(
    domain: str, tx: Transaction, s: Services, not_found: R, malformed: R
) -> Refusal | None:
    status = s.lookups.domain_status(domain)
    if status is DomainStatus.NOT_FOUND:
        return refuse(not_found, tx)
    if status is DomainStatus.MALFORMED:
        return refuse(malformed, tx)
    return None


def declared_size(tx: Transaction, s: Services) -> Refusal | None:
    if tx.declared_size is not None and tx.declared_size > tx.config.limits.max_message_bytes:
        return refuse(R.MESSAGE_TOO_BIG, tx)
    return None


def message_size(tx: Transaction, s: Services) -> Refusal | None:
    if len(tx.raw) > tx.config.limits.max_message_bytes:
        return refuse(R.MESSAGE_TOO_BIG, tx)
    return None


def bare_line_endings(tx: Transaction, s: Services) -> Refusal | None:
    # RFC 5321 2.3.8: a lone CR or LF is not a line ending. Passing one on would let a
    # downstream server that takes it for one end the message early (SMTP smuggling).
    if BARE_CR_OR_LF.search(tx.raw):
        return refuse(R.OTHER, tx, BARE_LINE_ENDING)
    return None


# -- rate limits (i-1…i-5 inbound, o-1…o-5 outbound) --------------------------------------------


def _limits(tx: Transaction) -> list[tuple[R, RateLimit, str, int]]:
    """(reason, limit, counter key, amount this message adds) for each configured limit."""
    rates = (
        tx.config.limits.inbound
        if tx.peer.direction is Direction.INBOUND
        else tx.config.limits.outbound
    )
    sender = tx.sender or "<>"
    base = f"{tx.tenant_id}#{tx.peer.direction}"
    size = len(tx.raw)
    candidates = [
        (R.RATE_LIMIT_COUNT_IP, rates.count_ip, f"{base}#count_ip#{tx.peer.ip}", 1),
        (R.RATE_LIMIT_COUNT_ADDRESS, rates.count_address, f"{base}#count_address#{sender}", 1),
        (R.RATE_LIMIT_SIZE_IP, rates.size_ip, f"{base}#size_ip#{tx.peer.ip}", size),
        (R.RATE_LIMIT_SIZE_ADDRESS, rates.size_address, f"{base}#size_address#{sender}", size),
        (
            R.RATE_LIMIT_SIZE_DOMAIN,
            rates.size_domain,
            f"{base}#size_domain#{_domain_of(tx.sender) or '<>'}",
            size,
        ),
    ]
    return [(reason, limit, key, amount) for reason, limit, key, amount in candidates if limit]


def message_count(tx: Transaction, s: Services) -> Refusal | None:
    """At RCPT: refuse before the data is sent when the count is already at its limit."""
    counts = [
        (reason, limit, key)
        for reason, limit, key, _ in _limits(tx)
        if reason in (R.RATE_LIMIT_COUNT_IP, R.RATE_LIMIT_COUNT_ADDRESS)
    ]
    current = s.counters.current([(key, limit.window_s) for _, limit, key in counts])
    for (reason, limit, _), count in zip(counts, current, strict=True):
        if count >= limit.limit:
            return refuse(reason, tx)
    return None


def increments(tx: Transaction) -> list[tuple[R, Increment]]:
    """What this message adds to each configured limit. The front adds the increments of
    every tenant of a transaction in one all-or-nothing step at the end of DATA, after the
    other checks passed, so a refused message counts against no one."""
    return [
        (reason, Increment(key, amount, limit.limit, limit.window_s))
        for reason, limit, key, amount in _limits(tx)
    ]


@dataclass(frozen=True)
class Check:
    name: str
    stage: Stage
    directions: frozenset[Direction]
    run: Callable[[Transaction, Services], Refusal | None]


CHECKS: tuple[Check, ...] = (
    # MAIL FROM (relay: the sender's domain decides the tenant)
    Check("system_ip_block", "mail", OUTBOUND, system_ip_block),
    Check("relay_allowed", "mail", OUTBOUND, relay_allowed),
    Check("tls_peer", "mail", OUTBOUND, tls_peer),
    Check("sender_domain", "mail", OUTBOUND, sender_domain),
    Check("declared_size", "mail", OUTBOUND, declared_size),
    # RCPT TO (inbound: the recipient's domain decides the tenant)
    Check("system_ip_block", "rcpt", INBOUND, system_ip_block),
    Check("tenant_ip_blocklist", "rcpt", INBOUND, tenant_ip_blocklist),
    Check("ip_reputation", "rcpt", INBOUND, ip_reputation),
    Check("reverse_dns", "rcpt", INBOUND, reverse_dns),
    Check("tls_peer", "rcpt", INBOUND, tls_peer),
    Check("sender_filter", "rcpt", INBOUND, sender_filter),
    Check("sender_domain", "rcpt", INBOUND, sender_domain),
    Check("recipient_blocked", "rcpt", BOTH, recipient_blocked),
    Check("recipient_valid", "rcpt", INBOUND, recipient_valid),
    Check("recipient_domain", "rcpt", OUTBOUND, recipient_domain),
    Check("declared_size", "rcpt", INBOUND, declared_size),
    Check("message_count", "rcpt", BOTH, message_count),
    # end of DATA
    Check("bare_line_endings", "data", BOTH, bare_line_endings),
    Check("message_size", "data", BOTH, message_size),
    # then the rate-limit accounting of every tenant of the transaction (``increments``)
)


def run(stage: Stage, tx: Transaction, services: Services) -> Refusal | None:
    """The first refusal of the stage's checks, in order. DnsUnavailable propagates: the
    caller answers a temporary failure."""
    for check in CHECKS:
        if check.stage == stage and tx.peer.direction in check.directions:
            refusal = check.run(tx, services)
            if refusal is not None:
                return refusal
    return None
