"""rspamd's HTTP protocol: ``POST /checkv2`` with the raw message and the envelope in headers."""

from __future__ import annotations

import http.client
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from mailgate.engines import EngineError

MAX_ANSWER_BYTES = 1024 * 1024
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
        self._host = parts.hostname
        self._port = parts.port or 11333
        self._timeout_s = timeout_s
        self.address = f"{self._host}:{self._port}"

    def _error(self, what: str) -> EngineError:
        return EngineError(f"rspamd at {self.address}{what}")

    def _request(
        self, method: str, path: str, body: bytes | None, headers: Sequence[tuple[str, str]]
    ) -> tuple[bytes, str]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout_s)
        try:
            connection.putrequest(method, path, skip_accept_encoding=True)
            for name, value in headers:
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body or b"")))
            connection.endheaders(body)
            response = connection.getresponse()
            data = response.read(MAX_ANSWER_BYTES + 1)
            server = response.getheader("Server", "")
        except (OSError, http.client.HTTPException) as error:
            raise EngineError(
                f"rspamd at {self.address}: {error or type(error).__name__}"
            ) from None
        finally:
            connection.close()
        if response.status != 200:
            raise self._error(f" answered HTTP {response.status}")
        if len(data) > MAX_ANSWER_BYTES:
            raise EngineError(
                f"rspamd at {self.address} answered more than {MAX_ANSWER_BYTES} bytes"
            )
        return data, server

    def check(
        self, raw: bytes, *, client_ip: str, helo: str, sender: str, recipients: Sequence[str]
    ) -> SpamCheck:
        headers = [("IP", _header_value(client_ip)), ("Helo", _header_value(helo))]
        # The client's name as far as rspamd is concerned: stage 1 checked reverse DNS by the
        # tenant's rules, so rspamd is told there is none rather than waiting on a look-up of
        # its own (a second per message, as its DNS answers nothing).
        headers.append(("Hostname", "unknown"))
        headers.append(("From", _header_value(sender)))
        headers.extend(("Rcpt", _header_value(r)) for r in recipients)
        headers = [(name, value) for name, value in headers if value]
        data, server = self._request("POST", "/checkv2", raw, headers)
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
        data, server = self._request("GET", "/ping", None, [])
        if data.strip() != b"pong":
            raise self._error(" did not answer its ping")
        return _version(server)


def _version(server: str) -> str:
    product, _, version = server.partition("/")
    return _header_value(version) if product.lower() == "rspamd" and version else "unknown"
