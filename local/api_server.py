"""A local stand-in for API Gateway: HTTP requests become REST API proxy events.

Outside ``/v1/`` it serves the admin console's static files (as CloudFront does in AWS), so the
console and the API share one origin.

The same authorizer function as in AWS runs first (except for the public OpenAPI document);
its context is put into ``requestContext.authorizer`` as API Gateway does.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import re
import threading
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from local.console_files import console_file
from local.lambda_context import LocalContext
from mailgate.api.errors import (
    GATEWAY_ERROR_MESSAGE,
    MAX_REQUEST_BYTES,
    SUSPENDED_MESSAGE,
    TOO_LARGE_MESSAGE,
    UNAUTHORIZED_MESSAGE,
    error_body,
)
from mailgate.resources import API_ROUTES, ApiRoute

log = logging.getLogger(__name__)

Handler = Callable[[dict[str, Any], Any], dict[str, Any]]
Answer = tuple[int, dict[str, str], bytes]
MAX_DISCARDED_BYTES = 8 * MAX_REQUEST_BYTES
WORKERS = 16  # requests served at once; more wait for a free worker
CLIENT_TIMEOUT_S = 30  # a client silent this long is disconnected, freeing its worker
DENIED: dict[str, Any] = {}  # the authorizer's explicit Deny (compared by identity)
LENGTH_REQUIRED_MESSAGE = "Send the request body with a Content-Length header, not chunked."


def _template(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


ROUTES = [(route, _template(route.path)) for route in API_ROUTES]


def find_route(method: str, path: str) -> ApiRoute | None:
    return next((r for r, p in ROUTES if r.method == method and p.match(path)), None)


class _PooledHTTPServer(HTTPServer):
    """Requests served by a fixed pool of threads. Each thread keeps its own boto3 resources
    (``mailgate.aws``); a thread per request would build them again for every request."""

    def __init__(
        self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler], workers: int
    ) -> None:
        super().__init__(address, handler)
        self._requests: queue.SimpleQueue[tuple[Any, Any] | None] = queue.SimpleQueue()
        self._workers = workers
        for n in range(workers):
            threading.Thread(target=self._work, name=f"api-{n}", daemon=True).start()

    def process_request(self, request: Any, client_address: Any) -> None:
        self._requests.put((request, client_address))

    def _work(self) -> None:
        while (item := self._requests.get()) is not None:
            request, client_address = item
            try:
                self.finish_request(request, client_address)
            except Exception:
                self.handle_error(request, client_address)
            finally:
                self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        for _ in range(self._workers):
            self._requests.put(None)


class LocalApi:
    def __init__(
        self,
        bind: str,
        port: int,
        region: str,
        authorizer: Handler,
        functions: dict[str, Handler],
        console: Path | None = None,
    ) -> None:
        """``functions``: function id (as in ``API_ROUTES``) → its Lambda handler;
        ``console``: the directory of the console's files, None to serve none."""
        self._region = region
        self._console = console
        self._authorizer = authorizer
        self._functions = functions
        api = self

        class _Request(BaseHTTPRequestHandler):
            timeout = CLIENT_TIMEOUT_S

            def do_GET(self) -> None:
                api.handle(self)

            do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

            def log_message(self, format: str, *args: Any) -> None:
                log.debug(format, *args)

        self._server = _PooledHTTPServer((bind, port), _Request, WORKERS)
        self._thread = threading.Thread(target=self._server.serve_forever, name="api", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        try:
            status, headers, data = self._answer(request)
        except Exception:  # what API Gateway does when its integration fails
            log.exception("%s %s: no response from the function", request.command, request.path)
            status, headers, data = _json(502, error_body("gateway_error", GATEWAY_ERROR_MESSAGE))
        _send(request, status, headers, data)

    def _answer(self, request: BaseHTTPRequestHandler) -> Answer:
        body = _read_body(request)
        if isinstance(body, tuple):
            return body
        url = urlsplit(request.path)
        route = find_route(request.command, url.path)
        if (
            route is None
            and self._console
            and request.command == "GET"
            and not url.path.startswith("/v1/")
            and (found := console_file(self._console, url.path))
        ):
            return found
        if route is None:  # API Gateway's own answer for a missing resource or method
            return _json(404, error_body("not_found", "No such resource."))
        event = self._event(request.command, url.path, url.query, dict(request.headers), body)
        event["resource"] = route.path
        if not route.public:
            context = self._authorize(event)
            if context is None:
                return _json(401, error_body("unauthorized", UNAUTHORIZED_MESSAGE))
            if context is DENIED:
                return _json(403, error_body("tenant_suspended", SUSPENDED_MESSAGE))
            event["requestContext"]["authorizer"] = context
        handler = self._functions[route.function]
        response = handler(event, LocalContext(function_name=route.function))
        payload = response.get("body") or ""
        data = base64.b64decode(payload) if response.get("isBase64Encoded") else payload.encode()
        headers = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(values)
        return int(response["statusCode"]), headers, data

    def _authorize(self, event: dict[str, Any]) -> dict[str, Any] | None:
        """The authorizer's context; None for a refused key (401), ``DENIED`` for an explicit
        Deny (API Gateway's 403)."""
        request = {
            "type": "REQUEST",
            "methodArn": (
                f"arn:aws:execute-api:{self._region}:000000000000:local/prod/"
                f"{event['httpMethod']}{event['path']}"
            ),
            "headers": event["headers"],
            "path": event["path"],
            "httpMethod": event["httpMethod"],
        }
        try:
            result = self._authorizer(request, LocalContext(function_name="authorizer"))
            statements = result["policyDocument"]["Statement"]
        except Exception:  # API Gateway turns any authorizer failure into 401
            return None
        if any(statement["Effect"] == "Deny" for statement in statements):
            return DENIED
        if not any(statement["Effect"] == "Allow" for statement in statements):
            return None
        context: dict[str, Any] = {
            **result.get("context", {}),
            "principalId": result["principalId"],
        }
        return context

    def _event(
        self, method: str, path: str, query: str, headers: dict[str, str], body: bytes
    ) -> dict[str, Any]:
        multi = parse_qs(query, keep_blank_values=True)
        try:
            text, encoded = body.decode(), False
        except UnicodeDecodeError:
            text, encoded = base64.b64encode(body).decode(), True
        return {
            "resource": path,
            "path": path,
            "httpMethod": method,
            "headers": headers,
            "multiValueHeaders": {name: [value] for name, value in headers.items()},
            "queryStringParameters": {k: v[-1] for k, v in multi.items()} or None,
            "multiValueQueryStringParameters": multi or None,
            "pathParameters": None,
            "stageVariables": None,
            "body": text or None,
            "isBase64Encoded": encoded,
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "stage": "prod",
                "httpMethod": method,
                "path": f"/prod{path}",
                "identity": {"sourceIp": "127.0.0.1"},
                "resourcePath": path,
                "accountId": "000000000000",
                "apiId": "local",
            },
        }


def _read_body(request: BaseHTTPRequestHandler) -> bytes | Answer:
    """The request body, or API Gateway's answer to a body it does not take."""
    if "chunked" in request.headers.get("Transfer-Encoding", "").lower():
        request.close_connection = True
        return _json(411, error_body("length_required", LENGTH_REQUIRED_MESSAGE))
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = -1
    if length < 0:
        request.close_connection = True
        return _json(400, error_body("invalid_request", "The Content-Length header is invalid."))
    if length > MAX_REQUEST_BYTES:
        # Read what was sent (up to a bound) so that the client reads the answer rather than a
        # reset connection.
        _discard(request, min(length, MAX_DISCARDED_BYTES))
        request.close_connection = True
        return _json(413, error_body("too_large", TOO_LARGE_MESSAGE))
    return request.rfile.read(length) if length else b""


def _discard(request: BaseHTTPRequestHandler, length: int) -> None:
    while length > 0:
        chunk = request.rfile.read(min(length, 1024 * 1024))
        if not chunk:
            return
        length -= len(chunk)


def _json(status: int, body: dict[str, Any]) -> Answer:
    return status, {"Content-Type": "application/json"}, json.dumps(body).encode()


def _send(
    request: BaseHTTPRequestHandler, status: int, headers: dict[str, str], data: bytes
) -> None:
    try:
        request.send_response(status)
        for name, value in headers.items():
            if name.lower() not in ("content-length", "connection"):
                request.send_header(name, value)
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        request.wfile.write(data)
    except OSError:  # the client went away
        request.close_connection = True
