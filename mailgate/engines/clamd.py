"""clamd's socket protocol: ``zINSTREAM`` with the bytes in chunks, one NUL-ended answer."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass

from mailgate.engines import EngineError, OverLimit

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
        self._host = host.strip("[]")
        self._port = int(port)
        self._timeout_s = timeout_s
        self.address = address
        self.max_bytes = max_bytes

    def _exchange(self, command: bytes, data: bytes | None = None) -> str:
        try:
            with socket.create_connection((self._host, self._port), self._timeout_s) as sock:
                sock.settimeout(self._timeout_s)
                for frames in _writes(command, data):
                    sock.sendall(frames)
                answer = b""
                while not answer.endswith(b"\0") and len(answer) <= MAX_ANSWER_BYTES:
                    received = sock.recv(MAX_ANSWER_BYTES)
                    if not received:
                        break
                    answer += received
        except OSError as error:
            raise EngineError(f"clamd at {self.address}: {error or type(error).__name__}") from None
        if not answer.endswith(b"\0"):
            raise EngineError(f"clamd at {self.address} gave no complete answer")
        return answer[:-1].decode("utf-8", "replace")

    def scan(self, data: bytes) -> VirusScan:
        if len(data) > self.max_bytes:
            raise OverLimit(f"{len(data)} bytes is over clamd's limit of {self.max_bytes}")
        answer = self._exchange(b"INSTREAM", data)
        if answer == "stream: OK":
            return VirusScan("")
        if answer.startswith("stream: ") and answer.endswith(" FOUND"):
            signature = answer.removeprefix("stream: ").removesuffix(" FOUND").strip()
            if signature and signature.isprintable():
                return VirusScan(signature)
        raise EngineError(f"clamd at {self.address} answered {answer[:200]!r}")

    def version(self) -> tuple[str, str]:
        """The engine's version and its signature database's ("ClamAV 1.4.6/27100/date")."""
        answer = self._exchange(b"VERSION")
        product, _, rest = answer.partition(" ")
        if product != "ClamAV" or not rest:
            raise EngineError(f"clamd at {self.address} answered {answer[:200]!r} to VERSION")
        engine, _, database = rest.partition("/")
        return engine, database.partition("/")[0] or "local"
