"""Opaque paging cursors: signed, bound to the tenant and the query they continue."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

from mailgate.api.errors import BadRequest


def invalid_cursor() -> BadRequest:
    return BadRequest("invalid_cursor", "cursor is not valid for this query; search again.")


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def query_digest(query: dict[str, Any]) -> str:
    canonical = json.dumps(query, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


class CursorSigner:
    def __init__(self, key: bytes) -> None:
        self._key = key

    def _sign(self, payload: bytes) -> str:
        return _b64(hmac.new(self._key, payload, hashlib.sha256).digest())

    def encode(self, tenant_id: str, digest: str, state: dict[str, Any]) -> str:
        payload = json.dumps(
            {"t": tenant_id, "q": digest, "s": state}, separators=(",", ":"), default=str
        ).encode()
        return f"{_b64(payload)}.{self._sign(payload)}"

    def decode(self, cursor: str, tenant_id: str, digest: str) -> dict[str, Any]:
        try:
            encoded, signature = cursor.split(".", 1)
            payload = _unb64(encoded)
            valid = hmac.compare_digest(signature.encode(), self._sign(payload).encode())
        except ValueError as error:  # binascii.Error and UnicodeError are ValueErrors too
            raise invalid_cursor() from error
        if not valid:
            raise invalid_cursor()
        data = json.loads(payload)
        if data.get("t") != tenant_id or data.get("q") != digest:
            raise invalid_cursor()
        state: dict[str, Any] = data["s"]
        return state
