"""The SMTP front: aiosmtpd hooks for the inbound port and the outbound relay port.

Inbound, each recipient's managed domain decides the tenant, and the tenant's checks run at
RCPT; on the relay, the sender's domain decides it and its checks run at MAIL. The checks of
``functions.receive.checks`` run in their declared order; a refusal is answered with its reply
and logged as blocked traffic. A message is answered "250" only after ``Intake.accept`` has
stored it, recorded its rows and queued its scan job.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP, Envelope, Session

from functions.receive import checks
from functions.receive.blocked_log import BlockedLog
from functions.receive.checks import Refusal, Services, Transaction
from functions.receive.intake import Envelope as Message
from functions.receive.intake import HandOffFailed, Intake
from functions.receive.replies import DNS_TEMPORARY, REPLIES
from functions.receive.routing import DomainDirectory, TtlCache, domain_of
from mailgate.catalog import BlockReason, Direction
from mailgate.dns import DnsUnavailable
from mailgate.tenant_config import DomainConfig, TenantConfig

log = logging.getLogger(__name__)
T = TypeVar("T")

# RFC 3463 enhanced status codes with the replies of RFC 5321 4.2.
NULL_SENDER = "<>"
OK = "250 2.1.0 OK"
RCPT_OK = "250 2.1.5 OK"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
BAD_ADDRESS = "501 5.1.3 Bad address syntax"
BAD_SIZE = "501 5.5.4 Bad SIZE parameter"
RELAY_DENIED = "550 5.7.1 Relaying denied: {domain} is not a domain served here"
SENDER_NOT_SERVED = "550 5.7.1 Relaying denied: sender domain {domain} is not served here"
NO_RECIPIENTS = "554 5.5.1 No valid recipients"
TRY_LATER = "451 4.3.0 Temporary failure storing the message, try again later"
LOOKUP_FAILED = "451 4.3.0 Temporary failure looking up the domain, try again later"


@dataclass
class _State:
    """Per transaction (one envelope): the tenant of each recipient and each tenant's view."""

    sender: str = ""
    declared_size: int | None = None
    relay_tx: Transaction | None = None  # relay: the sender's tenant, known at MAIL
    tenant_of: dict[str, str] = field(default_factory=dict)  # recipient → tenant
    views: dict[str, Transaction] = field(default_factory=dict)  # tenant → transaction
    blocked_uuids: dict[str, str] = field(default_factory=dict)  # tenant → uuid for refusals


def _state(envelope: Envelope) -> _State:
    state: _State = envelope.__dict__.setdefault("mailgate", _State())
    return state


def _services(session: Session, make: Callable[[], Services]) -> Services:
    services: Services = session.__dict__.setdefault("mailgate_services", make())
    return services


def _valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and " " not in address


def _declared_size(options: list[str]) -> int | None:
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE":
            return int(value)  # ValueError: a malformed SIZE parameter
    return None


def _upstream_tls(server: SMTP) -> str:
    ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
    return str(ssl_object.version()) if ssl_object else "none"


class PolicyError(Exception):
    """The tenant's configuration could not be loaded or does not cover the domain."""


class FrontHandler:
    def __init__(
        self,
        direction: Direction,
        directory: DomainDirectory,
        configs: TtlCache[TenantConfig],
        intake: Intake,
        blocked: BlockedLog,
        services: Callable[[], Services],
        max_recipients: int,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.direction = direction
        self._directory = directory
        self._configs = configs
        self._intake = intake
        self._blocked = blocked
        self._services = services
        self._max_recipients = max_recipients
        self._pool = pool  # checks and hand-off block on DNS and AWS calls

    async def _blocking(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(call, *args))

    def _view(
        self, server: SMTP, session: Session, state: _State, tenant_id: str, domain: str
    ) -> Transaction:
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
        return self._transaction(server, session, state, tenant_id, config, managed)

    def _transaction(
        self,
        server: SMTP,
        session: Session,
        state: _State,
        tenant_id: str,
        config: TenantConfig,
        domain: DomainConfig,
    ) -> Transaction:
        return Transaction(
            direction=self.direction,
            client_ip=str(session.peer[0]) if session.peer else "",
            helo=str(session.host_name or ""),
            tls=_upstream_tls(server),
            sender=state.sender,
            tenant_id=tenant_id,
            config=config,
            domain=domain,
            declared_size=state.declared_size,
        )

    def _evaluate(
        self, stage: checks.Stage, tx: Transaction, session: Session, state: _State
    ) -> Refusal | None:
        """Run a stage's checks; log and return the refusal, if any (blocking: run in a thread)."""
        try:
            refusal = checks.run(stage, tx, _services(session, self._services))
        except DnsUnavailable:
            refusal = Refusal(BlockReason.OTHER, DNS_TEMPORARY)
        if refusal is not None:
            self._log(tx, refusal, state, [tx.recipient])
        return refusal

    def _log(self, tx: Transaction, refusal: Refusal, state: _State, recipients: list[str]) -> None:
        message_uuid = state.blocked_uuids.setdefault(tx.tenant_id, str(uuid.uuid4()))
        self._blocked.record(tx, refusal, message_uuid, recipients)

    def _policy_error(
        self,
        server: SMTP,
        session: Session,
        state: _State,
        tenant_id: str,
        domain: str,
        recipient: str,
    ) -> str:
        reply = REPLIES[BlockReason.POLICY_MATCHING_ERROR]
        # The tenant's own settings for the domain are what could not be had.
        unknown = DomainConfig.model_construct(name=domain, inbound_servers=[])
        tx = self._transaction(server, session, state, tenant_id, TenantConfig(), unknown)
        tx.recipient = recipient
        self._log(tx, Refusal(BlockReason.POLICY_MATCHING_ERROR, reply), state, [recipient])
        return reply

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # RFC 5321 4.5.5: bounces come from the null sender; aiosmtpd keeps it as "<>".
        if address != NULL_SENDER and not _valid_address(address):
            return BAD_ADDRESS
        try:
            declared = _declared_size(options)
        except ValueError:
            return BAD_SIZE
        envelope.__dict__["mailgate"] = state = _State(
            sender="" if address == NULL_SENDER else address, declared_size=declared
        )
        if self.direction is Direction.OUTBOUND:
            reply = await self._blocking(self._relay_mail, server, session, state)
            if reply is not None:
                return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return OK

    def _relay_mail(self, server: SMTP, session: Session, state: _State) -> str | None:
        domain = domain_of(state.sender) if state.sender else ""
        try:
            found = self._directory.find(domain) if domain else None
        except Exception:
            log.exception("domain lookup failed")
            return LOOKUP_FAILED
        if found is None:
            return SENDER_NOT_SERVED.format(domain=domain or NULL_SENDER)
        try:
            tx = self._view(server, session, state, found.tenant_id, domain)
        except PolicyError:
            log.exception("policy matching error")
            return self._policy_error(server, session, state, found.tenant_id, domain, "")
        refusal = self._evaluate("mail", tx, session, state)
        if refusal is not None:
            return refusal.reply
        state.relay_tx = tx
        return None

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _valid_address(address):
            return BAD_ADDRESS
        state = _state(envelope)
        if address.lower() in (known.lower() for known in state.tenant_of):
            return RCPT_OK
        if len(state.tenant_of) >= self._max_recipients:
            return TOO_MANY_RECIPIENTS
        reply = await self._blocking(self._rcpt, server, session, state, address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return RCPT_OK

    def _rcpt(self, server: SMTP, session: Session, state: _State, address: str) -> str | None:
        if state.relay_tx is not None:
            tx = state.relay_tx
        else:
            domain = domain_of(address)
            try:
                found = self._directory.find(domain)
            except Exception:
                log.exception("domain lookup failed")
                return LOOKUP_FAILED
            if found is None:
                return RELAY_DENIED.format(domain=domain)
            try:
                tx = state.views.get(found.tenant_id) or self._view(
                    server, session, state, found.tenant_id, domain
                )
                if tx.domain.name != domain:  # another domain of the same tenant
                    tx = self._view(server, session, state, found.tenant_id, domain)
            except PolicyError:
                log.exception("policy matching error")
                return self._policy_error(server, session, state, found.tenant_id, domain, address)
        tx.recipient = address
        refusal = self._evaluate("rcpt", tx, session, state)
        if refusal is not None:
            return refusal.reply
        state.tenant_of[address] = tx.tenant_id
        state.views.setdefault(tx.tenant_id, tx)
        return None

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        state = _state(envelope)
        if not state.tenant_of:
            return NO_RECIPIENTS
        content = envelope.original_content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        return await self._blocking(self._data, server, session, state, raw)

    def _data(self, server: SMTP, session: Session, state: _State, raw: bytes) -> str:
        groups: dict[str, list[str]] = {}
        for recipient, tenant_id in state.tenant_of.items():
            groups.setdefault(tenant_id, []).append(recipient)
        services = _services(session, self._services)
        refusal: Refusal | None = None
        for tenant_id in groups:
            tx = state.views[tenant_id]
            tx.raw, tx.recipient = raw, ""
            try:
                refusal = checks.run("data", tx, services)
            except DnsUnavailable:
                refusal = Refusal(BlockReason.OTHER, DNS_TEMPORARY)
            if refusal is not None:
                break
        else:
            counted = [
                (state.views[tenant_id], reason, increment)
                for tenant_id in groups
                for reason, increment in checks.increments(state.views[tenant_id])
            ]
            over = services.counters.add_all([increment for _, _, increment in counted])
            if over is not None:
                refusal = checks.refuse(counted[over][1], counted[over][0])
        if refusal is not None:
            # One reply answers the whole transaction: every recipient is refused.
            for tenant_id, recipients in groups.items():
                self._log(state.views[tenant_id], refusal, state, recipients)
            return refusal.reply
        message = Message(
            direction=self.direction,
            sender=state.sender,
            sender_ip=str(session.peer[0]) if session.peer else "",
            helo=str(session.host_name or ""),
            upstream_tls=_upstream_tls(server),
            raw=raw,
        )
        try:
            accepted = self._intake.accept(message, groups)
        except HandOffFailed:
            return TRY_LATER
        queued = " ".join(item.message_uuid for item in accepted)
        return f"250 2.0.0 OK queued as {queued}"
