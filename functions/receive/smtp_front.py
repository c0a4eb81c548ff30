"""The SMTP front's aiosmtpd hooks, for the inbound port and the outbound relay port.

The hooks check the syntax of each command and the recipient limit; ``Admission`` decides
whether each tenant takes the transaction. A message is answered "250" only after
``Intake.accept`` has stored it, recorded its rows and queued its scan job.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP

from functions.receive.admission import Admission, Admitted
from functions.receive.intake import HandOffFailed, Intake, Message
from functions.receive.protocol import FrontEnvelope, FrontSession, ehlo_lines
from functions.receive.replies import (
    BAD_ADDRESS,
    BAD_SIZE,
    NO_RECIPIENTS,
    OK,
    QUEUED,
    RCPT_OK,
    TOO_MANY_RECIPIENTS,
    TRY_LATER,
)
from mailgate.catalog import Direction
from mailgate.peer import Peer

T = TypeVar("T")
NULL_SENDER = "<>"  # RFC 5321 4.5.5: bounces come from it; aiosmtpd keeps it as "<>"


def _valid_address(address: str) -> bool:
    local, at, domain = address.rpartition("@")
    return bool(at and local and domain) and " " not in address


def _declared_size(options: list[str]) -> int | None:
    for option in options:
        name, _, value = option.partition("=")
        if name.upper() == "SIZE":
            return int(value)  # ValueError: a malformed SIZE parameter
    return None


def _peer(direction: Direction, server: SMTP, session: FrontSession) -> Peer:
    ssl_object = server.transport.get_extra_info("ssl_object") if server.transport else None
    return Peer(
        direction=direction,
        ip=str(session.peer[0]) if session.peer else "",
        helo=str(session.host_name or ""),
        tls=str(ssl_object.version()) if ssl_object else "none",
    )


class FrontHandler:
    def __init__(
        self,
        direction: Direction,
        admission: Admission,
        intake: Intake,
        max_recipients: int,
        pool: ThreadPoolExecutor,
    ) -> None:
        self.direction = direction
        self._admission = admission
        self._intake = intake
        self._max_recipients = max_recipients
        self._pool = pool  # admission and hand-off block on DNS and AWS calls

    async def _blocking(self, call: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, partial(call, *args))

    async def handle_EHLO(
        self,
        server: SMTP,
        session: FrontSession,
        envelope: FrontEnvelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname  # aiosmtpd leaves it to an EHLO hook
        return ehlo_lines(responses)

    async def handle_MAIL(
        self,
        server: SMTP,
        session: FrontSession,
        envelope: FrontEnvelope,
        address: str,
        options: list[str],
    ) -> str:
        if address != NULL_SENDER and not _valid_address(address):
            return BAD_ADDRESS
        try:
            declared = _declared_size(options)
        except ValueError:
            return BAD_SIZE
        envelope.admitted = admitted = Admitted(
            peer=_peer(self.direction, server, session),
            sender="" if address == NULL_SENDER else address,
            declared_size=declared,
        )
        if self.direction is Direction.OUTBOUND:
            reply = await self._blocking(self._admission.sender, admitted, session.services)
            if reply is not None:
                return reply
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return OK

    async def handle_RCPT(
        self,
        server: SMTP,
        session: FrontSession,
        envelope: FrontEnvelope,
        address: str,
        options: list[str],
    ) -> str:
        if not _valid_address(address):
            return BAD_ADDRESS
        admitted = envelope.admitted
        assert admitted is not None, "aiosmtpd answers RCPT before MAIL itself"
        if address.lower() in (known.lower() for known in admitted.tenant_of):
            return RCPT_OK
        if len(admitted.tenant_of) >= self._max_recipients:
            return TOO_MANY_RECIPIENTS
        reply = await self._blocking(self._admission.recipient, admitted, session.services, address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return RCPT_OK

    async def handle_DATA(
        self, server: SMTP, session: FrontSession, envelope: FrontEnvelope
    ) -> str:
        admitted = envelope.admitted
        if admitted is None or not admitted.tenant_of:
            return NO_RECIPIENTS
        content = envelope.original_content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        return await self._blocking(self._data, admitted, session, raw)

    def _data(self, admitted: Admitted, session: FrontSession, raw: bytes) -> str:
        reply = self._admission.message(admitted, session.services, raw)
        if reply is not None:
            return reply
        message = Message(peer=admitted.peer, sender=admitted.sender, raw=raw)
        try:
            accepted = self._intake.accept(message, admitted.recipients_by_tenant())
        except HandOffFailed:
            return TRY_LATER
        return QUEUED.format(queued=" ".join(item.message_uuid for item in accepted))
