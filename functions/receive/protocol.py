"""aiosmtpd's SMTP server with the timeouts of RFC 5321, and the front's state on its session
and envelope.

- 4.5.3.2: timeouts are per operation: the idle timer restarts on every byte received, so a
  client sending a large message steadily is not cut off mid-DATA.
- 3.8: a client that stays silent is told "421" before the channel is closed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from functions.receive.admission import Admitted
from functions.receive.checks import Services


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
