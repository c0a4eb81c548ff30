"""aiosmtpd's SMTP server with the timeouts of RFC 5321.

- 4.5.3.2: timeouts are per operation: the idle timer restarts on every byte received, so a
  client sending a large message steadily is not cut off mid-DATA.
- 3.8: a client that stays silent is told "421" before the channel is closed.
"""

from __future__ import annotations

import asyncio

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP


class FrontSMTP(SMTP):
    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self._timeout_handle is not None:
            self._reset_timeout()

    def _timeout_cb(self) -> None:
        if isinstance(self.transport, asyncio.WriteTransport) and not self.transport.is_closing():
            self.transport.write(f"421 4.4.2 {self.hostname} Error: timeout exceeded\r\n".encode())
        super()._timeout_cb()


class FrontController(Controller):
    def factory(self) -> SMTP:
        return FrontSMTP(self.handler, **self.SMTP_kwargs)
