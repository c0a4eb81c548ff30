"""The SMTP front's aiosmtpd hooks, for the inbound port and the outbound relay port.

The hooks check the syntax of each command and the recipient limit; ``Admission`` decides
whether each tenant takes the transaction. A message is answered "250" only after
``Intake.accept`` has stored it, recorded its rows and queued its scan job. Each refusal and
each acceptance is logged (``decision_log``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any, TypeVar

from aiosmtpd.smtp import SMTP

from functions.receive import decision_log
from functions.receive.admission import Admission, Admitted, Refused
from functions.receive.flow import InFlow
from functions.receive.intake import HandOffFailed, Intake, Message
from functions.receive.protocol import FrontEnvelope, FrontSession, ehlo_lines
from functions.receive.replies import (
    BAD_ADDRESS,
    BAD_SIZE,
    BUSY,
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
        in_flow: InFlow | None = None,
    ) -> None:
        self.direction = direction
        self._admission = admission
        self._intake = intake
        self._max_recipients = max_recipients
        self._pool = pool  # admission and hand-off block on DNS and AWS calls
        self._in_flow = in_flow

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
        started, peer = time.perf_counter(), _peer(self.direction, server, session)
        sender = "" if address == NULL_SENDER else address
        if sender and not _valid_address(address):
            return decision_log.refused("MAIL", peer, sender, Refused(BAD_ADDRESS), started)
        try:
            declared = _declared_size(options)
        except ValueError:
            return decision_log.refused("MAIL", peer, sender, Refused(BAD_SIZE), started)
        envelope.admitted = admitted = Admitted(peer=peer, sender=sender, declared_size=declared)
        if self.direction is Direction.OUTBOUND:
            refused = await self._blocking(self._admission.sender, admitted, session.services)
            if refused is not None:
                return decision_log.refused("MAIL", peer, sender, refused, started, size=declared)
        if self._in_flow is not None and await self._in_flow.pace() is None:
            return decision_log.refused("MAIL", peer, sender, Refused(BUSY), started)
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
        started, admitted = time.perf_counter(), envelope.admitted
        assert admitted is not None, "aiosmtpd answers RCPT before MAIL itself"
        if not _valid_address(address):
            return _refused_recipient(admitted, address, Refused(BAD_ADDRESS), started)
        if address.lower() in (known.lower() for known in admitted.tenant_of):
            return RCPT_OK
        if len(admitted.tenant_of) >= self._max_recipients:
            return _refused_recipient(admitted, address, Refused(TOO_MANY_RECIPIENTS), started)
        refused = await self._blocking(
            self._admission.recipient, admitted, session.services, address
        )
        if refused is not None:
            return _refused_recipient(admitted, address, refused, started)
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return RCPT_OK

    async def handle_DATA(
        self, server: SMTP, session: FrontSession, envelope: FrontEnvelope
    ) -> str:
        started, admitted = time.perf_counter(), envelope.admitted
        assert admitted is not None, "aiosmtpd answers DATA before RCPT itself"
        content = envelope.original_content or b""
        raw = content if isinstance(content, bytes) else content.encode()
        if not admitted.tenant_of:
            no_recipients = Refused(NO_RECIPIENTS)
            return decision_log.refused(
                "DATA", admitted.peer, admitted.sender, no_recipients, started
            )
        return await self._blocking(self._data, admitted, session, raw, started)

    def _data(self, admitted: Admitted, session: FrontSession, raw: bytes, started: float) -> str:
        groups = admitted.recipients_by_tenant()
        counts = {tenant_id: len(recipients) for tenant_id, recipients in groups.items()}
        peer, sender = admitted.peer, admitted.sender
        refused = self._admission.message(admitted, session.services, raw)
        if refused is not None:
            return decision_log.refused(
                "DATA", peer, sender, refused, started, recipients=counts, size=len(raw)
            )
        message = Message(peer=peer, sender=sender, raw=raw)
        try:
            accepted = self._intake.accept(message, groups)
        except HandOffFailed:
            retry, count = Refused(TRY_LATER), len(admitted.tenant_of)
            return decision_log.refused(
                "DATA", peer, sender, retry, started, recipients=count, size=len(raw)
            )
        reply = QUEUED.format(queued=" ".join(item.message_uuid for item in accepted))
        decision_log.accepted(peer, sender, accepted, reply, len(raw), started)
        return reply


def _refused_recipient(admitted: Admitted, recipient: str, refusal: Refused, started: float) -> str:
    return decision_log.refused(
        "RCPT",
        admitted.peer,
        admitted.sender,
        refusal,
        started,
        recipients=1,
        size=admitted.declared_size,
        recipient=recipient,
    )
