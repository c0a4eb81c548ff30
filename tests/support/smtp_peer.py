"""A real SMTP server on loopback that stands for a tenant's (or a recipient's) mail server,
answering each recipient with scripted replies and keeping what it accepts."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any, Self

from aiosmtpd.controller import Controller

from tests.support.ports import free_port


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes


@dataclass
class ScriptedServer:
    """``rcpt_replies``: replies given to RCPT in turn, then "250 OK" for the rest."""

    rcpt_replies: deque[str] = field(default_factory=deque)
    received: list[Received] = field(default_factory=list)
    port: int = field(default_factory=free_port)
    tls_context: ssl.SSLContext | None = None  # offers STARTTLS with it when given
    _controller: Controller | None = None

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.popleft() if self.rcpt_replies else "250 2.1.5 OK"
        if reply.startswith("2"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content)
        )
        return "250 2.0.0 Accepted"

    def start(self) -> Self:
        self._controller = Controller(
            self, hostname="127.0.0.1", port=self.port, tls_context=self.tls_context
        )
        self._controller.start()
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()


@dataclass
class HeldServer(ScriptedServer):
    """A slow server: it answers each DATA only after ``hold_s`` seconds, or at ``release()``."""

    hold_s: float = 5.0
    in_data: threading.Event = field(default_factory=threading.Event)
    _released: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.in_data.set()
        # Waited for in a worker thread, so the server's other connections go on meanwhile.
        await asyncio.get_running_loop().run_in_executor(None, self._released.wait, self.hold_s)
        return await super().handle_DATA(server, session, envelope)

    def release(self) -> None:
        self._released.set()
