"""Hostile input to every route of the API, through the local API server: a response always
comes, bad input is a 4xx with a sentence in the error shape, and nothing is a 5xx.

The routes are read from ``resources.API_ROUTES``, so a new route is covered when declared."""

from __future__ import annotations

import http.client
import json
import re
from dataclasses import dataclass

import pytest

from mailgate.api.errors import MAX_REQUEST_BYTES
from mailgate.api.request_body import MAX_DEPTH
from mailgate.resources import API_ROUTES, ApiRoute
from tests.integration.conftest import Gateway
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
NINE_MB = 9 * 1024 * 1024


@dataclass(frozen=True)
class Hostile:
    name: str
    body: bytes | None = None
    content_type: str | None = JSON
    path_value: str = "0d6c6a0e-5f0a-4b9e-9a57-9d5b1b3c0f11"
    query: str = ""
    headers: tuple[tuple[str, str], ...] = ()


BODIES = {
    "over 10 MB": b" " * (MAX_REQUEST_BYTES + 1),
    "a 9 MB string": b'{"subject": "' + b"x" * NINE_MB + b'", "name": "' + b"x" * 10 + b'"}',
    "10,000 arrays deep": b"[" * 10_000 + b"]" * 10_000,
    "10,000 objects deep": b'{"a":' * 10_000 + b"1" + b"}" * 10_000,
    "one level too deep": b'{"config": ' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
    "not UTF-8": b'{"subject": "\xff\xfe", "period": "1h"}',
    "binary": bytes(range(256)),
    "UTF-16": '{"period": "1h"}'.encode("utf-16"),
    "truncated JSON": b'{"period": ',
    "empty": b"",
    "null": b"null",
    "true": b"true",
    "a number": b"0",
    "a string": b'"text"',
    "an empty array": b"[]",
    "an empty object": b"{}",
    "an array of null": b"[null]",
    "an array of empty objects": b"[{}]",
    "an array of arrays": b"[[]]",
    "null fields": b'{"version": null, "config": null, "period": null, "limit": null}',
    "wrong types": b'{"version": "one", "config": [], "limit": "ten", "senders": "a@b.c"}',
    "wrong nested types": b'{"period": {"start": 1, "end": []}, "domains": {"a": 1}}',
    "domains of the wrong types": b'[{"name": 5, "inbound_servers": null, "peer": []}]',
    "an infinite number": b'{"limit": 1e999999, "max_message_bytes": -1e999999}',
    "NaN": b'{"limit": NaN, "version": Infinity}',
    "5,000 digits": b'{"limit": 1' + b"0" * 5000 + b"}",
    "a NUL and a lone surrogate": b'{"subject": "\\u0000\\ud800", "sender_ip": "\\udfff"}',
    "duplicate keys": b'{"limit": 1, "limit": "two"}',
    "a forged cursor": b'{"cursor": "eyJrIjoxfQ.AAAA"}',
    "a cursor that is not base64": b'{"cursor": "' + b"%" * 4096 + b'"}',
    "a period of ten years": b'{"period": {"start": "2016-01-01T00:00:00Z", '
    b'"end": "2026-01-01T00:00:00Z"}}',
    "unknown fields": b'{"\\u0000": 1, "' + b"k" * 10_000 + b'": 2}',
}
ATTEMPTS = [
    *(Hostile(name, body) for name, body in BODIES.items()),
    Hostile("a form", b"period=1h&limit=5", FORM),
    Hostile("JSON sent as a form", b'{"period": "1h"}', FORM),
    Hostile("JSON sent as text", b'{"period": "1h"}', "text/plain"),
    Hostile("binary sent as an octet stream", bytes(range(256)), "application/octet-stream"),
    Hostile("JSON without a content type", b'{"period": "1h"}', None),
    Hostile("a 10,000-character path parameter", path_value="a" * 10_000),
    Hostile("a path parameter that is not UTF-8", path_value="%FF%FE"),
    Hostile("a NUL in a path parameter", path_value="%00"),
    Hostile("a path parameter climbing up", path_value="..%2F..%2Fconfig"),
    Hostile("a 10,000-character query parameter", query="recipient=" + "a" * 10_000),
    Hostile("a query parameter that is not UTF-8", query="recipient=%FF%FE&limit=%00"),
    Hostile("a repeated query parameter", query="recipient=a@b.c&recipient=d@e.f"),
    Hostile("1,000 query parameters", query="&".join(f"k{n}=v" for n in range(1000))),
    Hostile("a Content-Length that is not a number", headers=(("Content-Length", "ten"),)),
    Hostile("a negative Content-Length", headers=(("Content-Length", "-1"),)),
    Hostile("a huge Authorization header", headers=(("Authorization", "Bearer " + "k" * 8000),)),
]


def _path(route: ApiRoute, value: str) -> str:
    return re.sub(r"\{[^/]+\}", value, route.path)


def _send(gateway: Gateway, key: str, route: ApiRoute, attempt: Hostile) -> tuple[int, bytes]:
    headers = {"Authorization": f"Bearer {key}", **dict(attempt.headers)}
    if attempt.content_type:
        headers["Content-Type"] = attempt.content_type
    path = _path(route, attempt.path_value) + (f"?{attempt.query}" if attempt.query else "")
    connection = http.client.HTTPConnection("127.0.0.1", gateway.settings.api_port, timeout=60)
    try:
        connection.request(route.method, path, body=attempt.body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _fault(status: int, data: bytes) -> str | None:
    """What is wrong with an answer to hostile input, or None."""
    if status >= 500:
        return f"status {status}: {data[:300]!r}"
    if status < 400:
        return None
    try:
        body = json.loads(data)
    except ValueError:
        return f"status {status}, not JSON: {data[:300]!r}"
    error = body.get("error") if isinstance(body, dict) else None
    if set(body) != {"error"} or not isinstance(error, dict) or set(error) != {"code", "message"}:
        return f"status {status}, not the error shape: {body}"
    if not error["code"] or not str(error["message"]).endswith("."):
        return f"status {status}, no sentence: {body}"
    return None


@pytest.fixture(scope="module")
def key(gateway: Gateway) -> str:
    peer = ScriptedServer().start()
    api = gateway.add_tenant("hostile", "hostile.test", peer)
    peer.stop()
    assert api.api_key is not None
    return api.api_key


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_hostile_input_is_answered_with_a_4xx_sentence(
    gateway: Gateway, key: str, route: ApiRoute
) -> None:
    # Given one route of the API, with a key of every scope
    faults = {}
    for attempt in ATTEMPTS:
        # When it is sent each hostile request
        status, data = _send(gateway, key, route, attempt)

        # Then an answer comes: 2xx where the input is fine, else 4xx in the error shape
        fault = _fault(status, data)
        if fault:
            faults[attempt.name] = fault

    assert faults == {}


def test_a_body_over_10_mb_is_413(gateway: Gateway, key: str) -> None:
    route = next(r for r in API_ROUTES if r.method == "POST")

    status, data = _send(gateway, key, route, Hostile("big", BODIES["over 10 MB"]))

    assert status == 413
    assert json.loads(data)["error"]["code"] == "too_large"


def test_a_json_object_sent_with_curl_d_is_read_as_json(gateway: Gateway, key: str) -> None:
    # Given the search route, and a JSON object sent as curl -d sends it (a form)
    route = next(r for r in API_ROUTES if r.path == "/v1/tracking/search")

    status, data = _send(gateway, key, route, Hostile("curl -d", b'{"period": "1h"}', FORM))

    assert status == 200, data
    assert json.loads(data)["items"] == []
