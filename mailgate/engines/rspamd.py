"""rspamd's HTTP protocol: ``POST /checkv2`` with the raw message and the envelope in headers."""

from __future__ import annotations

import json
import math
import re
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from mailgate.engines import EngineAddress, EngineError

MAX_ANSWER_BYTES = 1024 * 1024
MAX_HEAD_BYTES = 16 * 1024
_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3})(?: [^\r\n]*)?")
_UNSAFE = re.compile(r"[^\x21-\x7e]")  # header values go out as printable ASCII, no spaces


@dataclass(frozen=True)
class SpamCheck:
    score: float
    required_score: float
    action: str
    symbols: tuple[str, ...]  # the names of the rules that fired, highest score first
    version: str  # the daemon's version, from its Server header


def _header_value(value: str) -> str:
    return _UNSAFE.sub("", value)[:998]


def _number(answer: Mapping[str, object], key: str) -> float:
    value = answer.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EngineError(f"rspamd answered without a usable {key}")
    return float(value)


class RspamdClient:
    def __init__(self, url: str, timeout_s: float) -> None:
        parts = urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"not an http:// URL of rspamd: {url!r}")
        self._engine = EngineAddress(parts.hostname, parts.port or 11333)
        self._timeout_s = timeout_s
        self.address = f"{parts.hostname}:{self._engine.port}"

    def _error(self, what: str) -> EngineError:
        return EngineError(f"rspamd at {self.address}{what}")

    def _unreachable(self, error: OSError) -> EngineError:
        return self._error(f": {error or type(error).__name__}")

    def _send(
        self, method: str, path: str, body: bytes | None, headers: Sequence[tuple[str, str]]
    ) -> Callable[[], tuple[bytes, str]]:
        """Sends one HTTP/1.1 request, the body bytes as given; the callable reads the answer:
        its body and Server field. rspamd's scanner closes the connection after each answer,
        so none is kept."""
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.address}", "Connection: close"]
        lines += [f"{name}: {value}" for name, value in headers]
        lines.append(f"Content-Length: {len(body or b'')}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + (body or b"")
        try:
            sock = self._engine.connect_and_send(self._timeout_s, [request])
        except OSError as error:
            raise self._unreachable(error) from None
        return partial(self._receive, sock)

    def _receive(self, sock: socket.socket) -> tuple[bytes, str]:
        try:
            with sock:
                answer = _read_answer(sock)
        except OSError as error:
            raise self._unreachable(error) from None
        except _Garbled as error:
            raise self._error(f" answered {error}") from None
        if answer.status != 200:
            raise self._error(f" answered HTTP {answer.status}")
        return answer.body, answer.server

    def check(
        self, raw: bytes, *, client_ip: str, helo: str, sender: str, recipients: Sequence[str]
    ) -> SpamCheck:
        return self.send_check(
            raw, client_ip=client_ip, helo=helo, sender=sender, recipients=recipients
        )()

    def send_check(
        self, raw: bytes, *, client_ip: str, helo: str, sender: str, recipients: Sequence[str]
    ) -> Callable[[], SpamCheck]:
        """Sends the message; the callable reads rspamd's answer, so another engine can be
        asked while rspamd works. Both raise ``EngineError``."""
        headers = [("IP", _header_value(client_ip)), ("Helo", _header_value(helo))]
        # The client's name as far as rspamd is concerned: stage 1 checked reverse DNS by the
        # tenant's rules, so rspamd is told there is none rather than waiting on a look-up of
        # its own (a second per message, as its DNS answers nothing).
        headers.append(("Hostname", "unknown"))
        headers.append(("From", _header_value(sender)))
        headers.extend(("Rcpt", _header_value(r)) for r in recipients)
        headers = [(name, value) for name, value in headers if value]
        answer = self._send("POST", "/checkv2", raw, headers)
        return lambda: self._spam_check(*answer())

    def _spam_check(self, data: bytes, server: str) -> SpamCheck:
        try:
            answer = json.loads(data)
        except ValueError:
            raise EngineError(
                f"rspamd at {self.address} answered something other than JSON"
            ) from None
        if not isinstance(answer, dict):
            raise self._error(" answered something other than a JSON object")
        symbols = answer.get("symbols")
        fired: list[tuple[float, str]] = []
        if isinstance(symbols, dict):
            for name, symbol in symbols.items():
                score = symbol.get("score") if isinstance(symbol, dict) else None
                if isinstance(score, int | float) and math.isfinite(score):
                    fired.append((float(score), str(name)))
        action = answer.get("action")
        return SpamCheck(
            score=_number(answer, "score"),
            required_score=_number(answer, "required_score"),
            action=action if isinstance(action, str) else "",
            symbols=tuple(name for _, name in sorted(fired, key=lambda s: (-s[0], s[1]))),
            version=_version(server),
        )

    def ping(self) -> str:
        """The daemon's version when it answers."""
        data, server = self._send("GET", "/ping", None, [])()
        if data.strip() != b"pong":
            raise self._error(" did not answer its ping")
        return _version(server)


def _version(server: str) -> str:
    product, _, version = server.partition("/")
    return _header_value(version) if product.lower() == "rspamd" and version else "unknown"


class _Garbled(Exception):
    """An answer that is not the HTTP we asked for, or over its bounds."""


@dataclass(frozen=True)
class _Answer:
    status: int
    server: str
    body: bytes


def _read_answer(sock: socket.socket) -> _Answer:
    received = bytearray()
    while (end := received.find(b"\r\n\r\n")) < 0:
        if len(received) > MAX_HEAD_BYTES:
            raise _Garbled(f"with a head over {MAX_HEAD_BYTES} bytes")
        chunk = sock.recv(65536)
        if not chunk:
            raise _Garbled("nothing" if not received else "with a cut head")
        received += chunk
    status_line, *field_lines = bytes(received[:end]).split(b"\r\n")
    status = _STATUS.fullmatch(status_line)
    if status is None:
        raise _Garbled(f"{status_line[:100]!r}, not HTTP")
    fields: dict[str, str] = {}
    for line in field_lines:
        name, colon, value = line.partition(b":")
        if not colon:
            raise _Garbled("with a malformed header field")
        fields[name.strip().lower().decode("latin-1")] = value.strip().decode("latin-1")
    if "transfer-encoding" in fields:
        raise _Garbled(f"in {fields['transfer-encoding'][:20]!r} transfer encoding")
    body = received[end + 4 :]
    length = fields.get("content-length")
    if length is not None and not length.isdigit():
        raise _Garbled(f"with Content-Length {length[:20]!r}")
    if length is not None and int(length) > MAX_ANSWER_BYTES:
        raise _Garbled(f"more than {MAX_ANSWER_BYTES} bytes")
    wanted = int(length) if length is not None else MAX_ANSWER_BYTES + 1
    while len(body) < wanted:
        chunk = sock.recv(min(65536, wanted - len(body)))
        if not chunk:
            if length is not None:
                raise _Garbled("a cut body")
            break
        body += chunk
    if length is None and len(body) > MAX_ANSWER_BYTES:
        raise _Garbled(f"more than {MAX_ANSWER_BYTES} bytes")
    return _Answer(int(status.group(1)), fields.get("server", ""), bytes(body))
