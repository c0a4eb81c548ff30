"""The SMTP front: aiosmtpd hooks for the inbound port and the outbound relay port.

Stage-1 checks hang on these hooks; today the only check is that a recipient (inbound) or the
sender (relay) belongs to a managed domain. A message is answered "250" only after
``Intake.accept`` has stored it, recorded its rows and queued its scan job.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from functions.receive.intake import Envelope as Message
from functions.receive.intake import HandOffFailed, Intake, group_by_tenant
from functions.receive.routing import DomainDirectory, domain_of
from mailgate.catalog import Direction

log = logging.getLogger(__name__)

# RFC 3463 enhanced status codes with the replies of RFC 5321 4.2.
NULL_SENDER = "<>"
OK = "250 2.1.0 OK"
RCPT_OK = "250 2.1.5 OK"
TOO_MANY_RECIPIENTS = "452 4.5.3 Too many recipients"
BAD_ADDRESS = "501 5.1.3 Bad address syntax"
RELAY_DENIED = "550 5.7.1 Relaying denied: {domain} is not a domain served here"
SENDER_NOT_SERVED = "550 5.7.1 Relaying denied: sender domain {domain} is not served here"
NO_RECIPIENTS = "554 5.5.1 No valid recipients"
TRY_LATER = "451 4.3.0 Temporary failure storing the message, try again later"
LOOKUP_FAILED = "451 4.3.0 Temporary failure looking up the domain, try again later"


def _tenants(envelope: Envelope) -> dict[str, str]:
    """Recipient address → tenant, kept beside aiosmtpd's own recipient list."""
    tenants: dict[str, str] = envelope.__dict__.setdefault("mailgate_tenants", {})
    return tenants


def _valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and " " not in address


def _upstream_tls(server: SMTP) -> str:
    ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
    return str(ssl_object.version()) if ssl_object else "none"


class FrontHandler:
    def __init__(
        self,
        direction: Direction,
        directory: DomainDirectory,
        intake: Intake,
        max_recipients: int,
    ) -> None:
        self.direction = direction
        self._directory = directory
        self._intake = intake
        self._max_recipients = max_recipients

    async def _find(self, domain: str) -> Any:
        return await asyncio.get_running_loop().run_in_executor(None, self._directory.find, domain)

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # RFC 5321 4.5.5: bounces come from the null sender; aiosmtpd keeps it as "<>".
        if address != NULL_SENDER and not _valid_address(address):
            return BAD_ADDRESS
        if self.direction is Direction.OUTBOUND:
            # Tenants relay only for their own domains (sending-server checks come later).
            domain = domain_of(address) if address != NULL_SENDER else ""
            try:
                found = await self._find(domain) if domain else None
            except Exception:
                log.exception("domain lookup failed")
                return LOOKUP_FAILED
            if found is None or not found.outbound:
                return SENDER_NOT_SERVED.format(domain=domain or "<>")
            envelope.__dict__["mailgate_tenant"] = found.tenant_id
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return OK

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if not _valid_address(address):
            return BAD_ADDRESS
        tenants = _tenants(envelope)
        if address.lower() in (known.lower() for known in tenants):
            return RCPT_OK
        if len(tenants) >= self._max_recipients:
            return TOO_MANY_RECIPIENTS
        if self.direction is Direction.OUTBOUND:
            tenant_id = envelope.__dict__["mailgate_tenant"]
        else:
            try:
                found = await self._find(domain_of(address))
            except Exception:
                log.exception("domain lookup failed")
                return LOOKUP_FAILED
            if found is None:
                return RELAY_DENIED.format(domain=domain_of(address))
            tenant_id = found.tenant_id
        tenants[address] = tenant_id
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return RCPT_OK

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        tenants = _tenants(envelope)
        if not tenants:
            return NO_RECIPIENTS
        raw = envelope.original_content or b""
        message = Message(
            direction=self.direction,
            sender="" if envelope.mail_from == NULL_SENDER else envelope.mail_from or "",
            sender_ip=str(session.peer[0]) if session.peer else "",
            helo=str(session.host_name or ""),
            upstream_tls=_upstream_tls(server),
            raw=raw if isinstance(raw, bytes) else raw.encode(),
        )
        try:
            accepted = await asyncio.get_running_loop().run_in_executor(
                None, self._intake.accept, message, group_by_tenant(tenants)
            )
        except HandOffFailed:
            return TRY_LATER
        queued = " ".join(item.message_uuid for item in accepted)
        return f"250 2.0.0 OK queued as {queued}"


def start_front(
    handler: FrontHandler, bind: str, port: int, hostname: str, max_message_bytes: int
) -> Controller:
    controller = Controller(
        handler,
        hostname=bind,
        port=port,
        server_hostname=hostname,
        ident="mailgate ESMTP",
        data_size_limit=max_message_bytes,
        enable_SMTPUTF8=True,
        decode_data=False,
    )
    controller.start()
    return controller
