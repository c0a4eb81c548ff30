from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from email.message import Message
from typing import Any


class ApiClient:
    def __init__(self, base_url: str, api_key: str | None) -> None:
        self.base_url = base_url
        self.api_key = api_key

    def exchange(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Message, bytes]:
        """Status, headers and body bytes of one request."""
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        request = urllib.request.Request(self.base_url + path, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        if self.api_key is not None:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read()

    def request(
        self, method: str, path: str, body: Any = None, raw: bytes | None = None
    ) -> tuple[int, Any]:
        status, _headers, data = self.exchange(method, path, body, raw)
        return status, json.loads(data or b"null")

    def search(self, **query: Any) -> tuple[int, Any]:
        return self.request("POST", "/v1/tracking/search", query)

    def detail(self, message_uuid: str, recipient: str | None = None) -> tuple[int, Any]:
        suffix = f"?recipient={recipient}" if recipient else ""
        return self.request("GET", f"/v1/tracking/{message_uuid}{suffix}")

    def row(self, message_uuid: str, recipient: str, **query: Any) -> dict[str, Any] | None:
        status, page = self.search(period="1h", limit=1000, **query)
        assert status == 200, page
        for item in page["items"]:
            if item["message_uuid"] == message_uuid and item["recipient"] == recipient:
                found: dict[str, Any] = item
                return found
        return None


def wait_for(check: Callable[[], Any], timeout: float = 30.0, interval: float = 0.2) -> Any:
    """Poll until ``check`` returns something truthy; fail with its last value otherwise."""
    deadline = time.monotonic() + timeout
    value = check()
    while not value and time.monotonic() < deadline:
        time.sleep(interval)
        value = check()
    assert value, f"condition not met within {timeout} s (last value: {value!r})"
    return value
