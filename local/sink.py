"""The demo tenant's own mail server: accepts everything and keeps it on disk.

Each message is ``<state>/sink/<time>-<n>.eml``; ``index.jsonl`` beside them records the
envelope of each (the file, MAIL FROM, RCPT TO, time).
"""

from __future__ import annotations

import json
import threading
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from mailgate.clock import iso, utcnow


class SinkHandler:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        now = utcnow()
        name = f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
        raw = envelope.original_content or b""
        (self.directory / name).write_bytes(raw if isinstance(raw, bytes) else raw.encode())
        entry = {
            "file": name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "time": iso(now),
        }
        with self._lock, (self.directory / "index.jsonl").open("a") as index:
            index.write(json.dumps(entry) + "\n")
        return "250 2.0.0 Kept"


def start_sink(bind: str, port: int, directory: Path) -> Controller:
    controller = Controller(
        SinkHandler(directory),
        hostname=bind,
        port=port,
        server_hostname="sink.localhost",
        decode_data=False,
    )
    controller.start()
    return controller
