"""Stage-1 admission: which tenant each part of a transaction belongs to, and whether that
tenant's checks take it.

Inbound, each recipient's managed domain decides the tenant, and the tenant's checks run at
RCPT; on the relay, the sender's domain decides it and its checks run at MAIL. At the end of
DATA every tenant's data checks run, then the rate-limit accounting of all of them in one
all-or-nothing step. Every refusal is logged as blocked traffic. The methods block on DNS and
AWS calls: the front runs them in a thread.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from functions.receive import checks
from functions.receive.blocked_log import BlockedLog
from functions.receive.checks import Refusal, Services, Transaction
from functions.receive.replies import (
    DNS_TEMPORARY,
    LOOKUP_FAILED,
    RELAY_DENIED,
    REPLIES,
    SENDER_NOT_SERVED,
    TENANT_SUSPENDED,
)
from functions.receive.routing import DomainDirectory, domain_of
from mailgate.catalog import BlockReason
from mailgate.dns import DnsUnavailable
from mailgate.peer import Peer
from mailgate.tenant_config import DomainConfig, TenantConfig
from mailgate.ttl_cache import TtlCache

log = logging.getLogger(__name__)


class PolicyError(Exception):
    """The tenant's configuration could not be loaded or does not cover the domain."""


@dataclass(frozen=True)
class Refused:
    """A refusal: its reply, its reason when a tenant's check gave it, and the uuid of each
    refusing tenant's blocked-traffic rows."""

    reply: str
    reason: BlockReason | None = None
    blocked: dict[str, str] = field(default_factory=dict)  # tenant → message uuid


@dataclass
class Admitted:
    """One envelope, from MAIL on: the tenant of each recipient taken and each tenant's view."""

    peer: Peer
    sender: str  # "" for the null sender
    declared_size: int | None = None
    relay_view: Transaction | None = None  # relay: the sender's tenant, known at MAIL
    tenant_of: dict[str, str] = field(default_factory=dict)  # recipient → tenant
    views: dict[str, Transaction] = field(default_factory=dict)  # tenant → transaction
    blocked_uuids: dict[str, str] = field(default_factory=dict)  # tenant → uuid for refusals

    def recipients_by_tenant(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for recipient, tenant_id in self.tenant_of.items():
            groups.setdefault(tenant_id, []).append(recipient)
        return groups


class Admission:
    def __init__(
        self,
        directory: DomainDirectory,
        configs: TtlCache[TenantConfig],
        blocked: BlockedLog,
        suspended: Callable[[str], bool] = lambda _: False,
    ) -> None:
        self._directory = directory
        self._configs = configs
        self._blocked = blocked
        self._suspended = suspended

    def sender(self, admitted: Admitted, services: Services) -> Refused | None:
        """Relay MAIL: the refusal, or None when the sender's tenant takes it."""
        domain = domain_of(admitted.sender) if admitted.sender else ""
        try:
            found = self._directory.find(domain) if domain else None
            suspended = found is not None and self._suspended(found.tenant_id)
        except Exception:
            log.exception("domain lookup failed")
            return Refused(LOOKUP_FAILED)
        if found is None:
            return Refused(SENDER_NOT_SERVED.format(domain=domain or "<>"))
        if suspended:
            return Refused(TENANT_SUSPENDED.format(domain=domain))
        try:
            tx = self._view(admitted, found.tenant_id, domain)
        except PolicyError:
            log.exception("policy matching error")
            return self._policy_error(admitted, found.tenant_id, domain, "")
        refused = self._evaluate("mail", tx, services, admitted)
        if refused is not None:
            return refused
        admitted.relay_view = tx
        return None

    def recipient(self, admitted: Admitted, services: Services, address: str) -> Refused | None:
        """RCPT: the refusal, or None when the recipient is taken."""
        if admitted.relay_view is not None:
            tx = admitted.relay_view
        else:
            domain = domain_of(address)
            try:
                found = self._directory.find(domain)
                suspended = found is not None and self._suspended(found.tenant_id)
            except Exception:
                log.exception("domain lookup failed")
                return Refused(LOOKUP_FAILED)
            if found is None:
                return Refused(RELAY_DENIED.format(domain=domain))
            if suspended:
                return Refused(TENANT_SUSPENDED.format(domain=domain))
            try:
                tx = admitted.views.get(found.tenant_id) or self._view(
                    admitted, found.tenant_id, domain
                )
                if tx.domain.name != domain:  # another domain of the same tenant
                    tx = self._view(admitted, found.tenant_id, domain)
            except PolicyError:
                log.exception("policy matching error")
                return self._policy_error(admitted, found.tenant_id, domain, address)
        tx.recipient = address
        refused = self._evaluate("rcpt", tx, services, admitted)
        if refused is not None:
            return refused
        admitted.tenant_of[address] = tx.tenant_id
        admitted.views.setdefault(tx.tenant_id, tx)
        return None

    def message(self, admitted: Admitted, services: Services, raw: bytes) -> Refused | None:
        """End of DATA: the refusal of the whole transaction, or None when every tenant takes
        the message (its rate limits are then counted)."""
        groups = admitted.recipients_by_tenant()
        refusal: Refusal | None = None
        for tenant_id in groups:
            tx = admitted.views[tenant_id]
            tx.raw, tx.recipient = raw, ""
            refusal = _run_checks("data", tx, services)
            if refusal is not None:
                break
        else:
            counted = [
                (admitted.views[tenant_id], reason, increment)
                for tenant_id in groups
                for reason, increment in checks.increments(admitted.views[tenant_id])
            ]
            over = services.counters.add_all([increment for _, _, increment in counted])
            if over is not None:
                refusal = checks.refuse(counted[over][1], counted[over][0])
        if refusal is None:
            return None
        # One reply answers the whole transaction: every recipient is refused.
        blocked: dict[str, str] = {}
        for tenant_id, recipients in groups.items():
            blocked |= self._log(admitted.views[tenant_id], refusal, admitted, recipients).blocked
        return Refused(refusal.reply, refusal.reason, blocked)

    def _view(self, admitted: Admitted, tenant_id: str, domain: str) -> Transaction:
        try:
            config = self._configs.find(tenant_id)
            managed = config.domain(domain)
            if managed is None:  # a domain added since the configuration was cached
                config = self._configs.reload(tenant_id)
                managed = config.domain(domain)
        except Exception as error:
            raise PolicyError(f"configuration of {tenant_id} could not be loaded") from error
        if managed is None:
            raise PolicyError(f"configuration of {tenant_id} does not cover {domain}")
        return _transaction(admitted, tenant_id, config, managed)

    def _evaluate(
        self, stage: checks.Stage, tx: Transaction, services: Services, admitted: Admitted
    ) -> Refused | None:
        """Run a stage's checks; log and return the refusal, if any."""
        refusal = _run_checks(stage, tx, services)
        if refusal is None:
            return None
        return self._log(tx, refusal, admitted, [tx.recipient])

    def _log(
        self, tx: Transaction, refusal: Refusal, admitted: Admitted, recipients: list[str]
    ) -> Refused:
        message_uuid = admitted.blocked_uuids.setdefault(tx.tenant_id, str(uuid.uuid4()))
        self._blocked.record(tx, refusal, message_uuid, recipients)
        return Refused(refusal.reply, refusal.reason, {tx.tenant_id: message_uuid})

    def _policy_error(
        self, admitted: Admitted, tenant_id: str, domain: str, recipient: str
    ) -> Refused:
        reply = REPLIES[BlockReason.POLICY_MATCHING_ERROR]
        # The tenant's own settings for the domain are what could not be had.
        unknown = DomainConfig.model_construct(name=domain, inbound_servers=[])
        tx = _transaction(admitted, tenant_id, TenantConfig(), unknown)
        tx.recipient = recipient
        return self._log(
            tx, Refusal(BlockReason.POLICY_MATCHING_ERROR, reply), admitted, [recipient]
        )


def _transaction(
    admitted: Admitted, tenant_id: str, config: TenantConfig, domain: DomainConfig
) -> Transaction:
    return Transaction(
        peer=admitted.peer,
        sender=admitted.sender,
        tenant_id=tenant_id,
        config=config,
        domain=domain,
        declared_size=admitted.declared_size,
    )


def _run_checks(stage: checks.Stage, tx: Transaction, services: Services) -> Refusal | None:
    """The stage's first refusal; a DNS failure is a temporary one (never a false 5xx)."""
    try:
        return checks.run(stage, tx, services)
    except DnsUnavailable:
        return Refusal(BlockReason.OTHER, DNS_TEMPORARY)
