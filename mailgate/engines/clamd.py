"""clamd's socket protocol: ``zINSTREAM`` with the bytes in chunks, one NUL-ended answer."""

from __future__ import annotations

import socket
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial

from mailgate.engines import EngineAddress, EngineError, OverLimit

CHUNK_BYTES = 64 * 1024
MAX_ANSWER_BYTES = 4096


@dataclass(frozen=True)
class VirusScan:
    signature: str  # the name of the signature found, "" when clean


def _writes(command: bytes, data: bytes | None) -> Iterator[bytearray]:
    """The command and the stream's length-prefixed chunks, gathered into writes of about a
    chunk each: a small message goes out in one write rather than three, and clamd wakes up
    once for it."""
    pending = bytearray(b"z" + command + b"\0")
    if data is not None:
        for start in range(0, len(data), CHUNK_BYTES):
            chunk = data[start : start + CHUNK_BYTES]
            pending += struct.pack(">I", len(chunk))
            pending += chunk
            if len(pending) >= CHUNK_BYTES:
                yield pending
                pending = bytearray()
        pending += struct.pack(">I", 0)
    yield pending


class ClamdClient:
    def __init__(self, address: str, timeout_s: float, max_bytes: int) -> None:
        host, colon, port = address.rpartition(":")
        if not colon or not host or not port.isdigit():
            raise ValueError(f"not a host:port address of clamd: {address!r}")
        self._engine = EngineAddress(host.strip("[]"), int(port))
        self._timeout_s = timeout_s
        self.address = address
        self.max_bytes = max_bytes

    def _send(self, command: bytes, data: bytes | None = None) -> Callable[[], str]:
        """Sends the command (and the stream); the callable reads clamd's answer."""
        try:
            sock = self._engine.connect_and_send(self._timeout_s, _writes(command, data))
        except OSError as error:
            raise self._unreachable(error) from None
        return partial(self._receive, sock)

    def _receive(self, sock: socket.socket) -> str:
        answer = b""
        try:
            with sock:
                while not answer.endswith(b"\0") and len(answer) <= MAX_ANSWER_BYTES:
                    received = sock.recv(MAX_ANSWER_BYTES)
                    if not received:
                        break
                    answer += received
        except OSError as error:
            raise self._unreachable(error) from None
        if not answer.endswith(b"\0"):
            raise EngineError(f"clamd at {self.address} gave no complete answer")
        return answer[:-1].decode("utf-8", "replace")

    def _unreachable(self, error: OSError) -> EngineError:
        return EngineError(f"clamd at {self.address}: {error or type(error).__name__}")

    def scan(self, data: bytes) -> VirusScan:
        return self.send_scan(data)()

    def send_scan(self, data: bytes) -> Callable[[], VirusScan]:
        """Sends the bytes; the callable reads clamd's answer, so another engine can be asked
        while clamd works. Both raise ``EngineError`` (``OverLimit`` at once, nothing sent)."""
        if len(data) > self.max_bytes:
            raise OverLimit(f"{len(data)} bytes is over clamd's limit of {self.max_bytes}")
        answer = self._send(b"INSTREAM", data)
        return lambda: self._virus_scan(answer())

    def _virus_scan(self, answer: str) -> VirusScan:
        if answer == "stream: OK":
            return VirusScan("")
        if answer.startswith("stream: ") and answer.endswith(" FOUND"):
            signature = answer.removeprefix("stream: ").removesuffix(" FOUND").strip()
            if signature and signature.isprintable():
                return VirusScan(signature)
        raise EngineError(f"clamd at {self.address} answered {answer[:200]!r}")

    def version(self) -> tuple[str, str]:
        """The engine's version and its signature database's ("ClamAV 1.4.6/27100/date")."""
        answer = self._send(b"VERSION")()
        product, _, rest = answer.partition(" ")
        if product != "ClamAV" or not rest:
            raise EngineError(f"clamd at {self.address} answered {answer[:200]!r} to VERSION")
        engine, _, database = rest.partition("/")
        return engine, database.partition("/")[0] or "local"
