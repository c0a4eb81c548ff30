"""aiosmtpd's SMTP server as the front speaks it, and the front's state on its session and
envelope.

- RFC 5321 4.5.3.2: timeouts are per operation: the idle timer restarts on every byte
  received, so a client sending a large message steadily is not cut off mid-DATA.
- RFC 5321 3.8: a client that stays silent is told "421" before the channel is closed.
- EHLO advertises what the front does: PIPELINING (RFC 2920: aiosmtpd reads one line at a
  time, so a pipelined group is answered in order) and ENHANCEDSTATUSCODES (RFC 2034: every
  reply but the greeting and those to HELO and EHLO carries one), and no AUTH: no credential
  is accepted on either port, so the command is not offered at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, AnyStr

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session, syntax

from functions.receive.admission import Admitted
from functions.receive.checks import Services
from functions.receive.enhanced_codes import with_enhanced_code
from functions.receive.replies import LOCAL_ERROR
from mailgate.observability import logger as log

EXTENSIONS = ("PIPELINING", "ENHANCEDSTATUSCODES")  # beyond those aiosmtpd lists itself
NOT_OFFERED = ("AUTH",)


def ehlo_lines(responses: list[str]) -> list[str]:
    """aiosmtpd's EHLO reply lines with the front's extensions added and AUTH taken out."""
    greeting, *keywords = (line[4:] for line in responses)
    kept = [k for k in keywords if k.split(" ", 1)[0].upper() not in NOT_OFFERED]
    lines = [greeting, *EXTENSIONS, *kept]
    return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]


class FrontSession(Session):
    """Per connection (a new one after STARTTLS, RFC 3207 4.2): the checks' services, whose
    DNS answers are remembered for the session."""

    def __init__(self, loop: asyncio.AbstractEventLoop, services: Services) -> None:
        super().__init__(loop)
        self.services = services


class FrontEnvelope(Envelope):
    """Per transaction: what admission has taken since MAIL (None before MAIL)."""

    def __init__(self) -> None:
        super().__init__()
        self.admitted: Admitted | None = None


class FrontSMTP(SMTP):
    def __init__(self, handler: Any, *, services: Callable[[], Services], **kwargs: Any) -> None:
        self._services = services
        super().__init__(handler, **kwargs)
        for command in NOT_OFFERED:
            self._smtp_methods.pop(command)  # answered "500 5.5.2 … not recognized"
        self._greeted = False
        self._answering_hello = False

    async def push(self, status: AnyStr) -> None:
        if isinstance(status, str) and self._greeted:
            hello = self._answering_hello and status.startswith("250")
            status = status if hello else with_enhanced_code(status)
        self._greeted = True
        await super().push(status)

    @syntax("HELO hostname")
    async def smtp_HELO(self, hostname: str) -> None:
        self._answering_hello = True
        try:
            await super().smtp_HELO(hostname)
        finally:
            self._answering_hello = False

    @syntax("EHLO hostname")
    async def smtp_EHLO(self, hostname: str) -> None:
        self._answering_hello = True
        try:
            await super().smtp_EHLO(hostname)
        finally:
            self._answering_hello = False

    async def handle_exception(self, error: Exception) -> str:
        # aiosmtpd would answer "500 Error: (<type>) <text>": a permanent refusal, so the
        # sender bounces mail that a retry would deliver, and internals shown to a stranger.
        log.error(
            "SMTP command failed",
            exc_info=error,
            extra={"client_ip": self.session.peer[0] if self.session and self.session.peer else ""},
        )
        return LOCAL_ERROR

    def _create_session(self) -> FrontSession:
        return FrontSession(self.loop, self._services())

    def _create_envelope(self) -> FrontEnvelope:
        return FrontEnvelope()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._timeout_handle is not None:
            self._reset_timeout()

    def _timeout_cb(self) -> None:
        if isinstance(self.transport, asyncio.WriteTransport) and not self.transport.is_closing():
            self.transport.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded\r\n".encode())
        super()._timeout_cb()


class FrontController(Controller):
    """Passes ``services`` (a factory of the checks' services) on to each ``FrontSMTP``."""

    def factory(self) -> SMTP:
        return FrontSMTP(self.handler, **self.SMTP_kwargs)
