"""Every change to a tenant's data and every search of it, written to the audit trail in one
place: a middleware of the API functions' resolver, after the route answered.

A route is audited unless it is a GET (a read of one resource); its action is named from its
path and method (``POST /v1/quarantine/release`` → ``quarantine.release``, ``PUT
/v1/config/domains`` → ``config.domains.write``), its details say which fields the request
gave (what a search searched by, never the values) and which messages it named.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.middlewares import NextMiddleware
from pydantic import JsonValue

from mailgate.api.resolver import UNNAMED_KEY
from mailgate.audit import AuditEntry
from mailgate.observability import logger
from mailgate.ports import AuditLog

VERBS = {"POST": "create", "PUT": "write", "DELETE": "delete", "PATCH": "write"}
ACTION_SEGMENTS = {"search", "release", "delete"}  # paths that name their action
PAGING_FIELDS = {"cursor", "limit"}
MAX_LISTED_IDS = 100


def action_of(method: str, resource: str) -> str | None:
    """The audited action of a route, None for one that is not audited."""
    if method not in VERBS:
        return None
    parts = [p for p in resource.split("/") if p and p != "v1" and not p.startswith("{")]
    if parts and parts[-1] in ACTION_SEGMENTS:
        return ".".join(parts)
    return ".".join([*parts, VERBS[method]])


def _details(body: Any, path_parameters: dict[str, str]) -> dict[str, JsonValue]:
    details: dict[str, JsonValue] = dict(path_parameters)
    if not isinstance(body, dict):
        return details
    details["fields"] = sorted(set(body) - PAGING_FIELDS)
    if isinstance(body.get("query"), dict):
        details["query_fields"] = sorted(set(body["query"]) - PAGING_FIELDS)
    for name in ("message_uuids", "select"):
        ids = body.get(name)
        if isinstance(ids, list):
            details[f"{name}_count"] = len(ids)
            details[name] = [str(value)[:200] for value in ids[:MAX_LISTED_IDS]]
    return details


def audit_entry(event: dict[str, Any], status: int, now: datetime) -> AuditEntry | None:
    """What the request did, as an audit entry; None when it is not audited (a GET, or a
    request refused before a tenant was known)."""
    action = action_of(str(event.get("httpMethod")), str(event.get("resource")))
    context = event.get("requestContext") or {}
    authorizer = context.get("authorizer") or {}
    tenant_id = authorizer.get("tenant_id")
    if action is None or not tenant_id:
        return None
    try:
        body = json.loads(event.get("body") or "null")
    except ValueError:
        body = None
    details = _details(body, event.get("pathParameters") or {})
    details["status"] = status
    return AuditEntry(
        tenant_id=str(tenant_id),
        time=now,
        actor=str(authorizer.get("key_name") or UNNAMED_KEY),
        action=action,
        target=str(event.get("path", "")),
        ip=str((context.get("identity") or {}).get("sourceIp", "")),
        details=details,
    )


def audit_middleware(
    audit: Callable[[], AuditLog], clock: Callable[[], datetime]
) -> Callable[[ApiGatewayResolver, NextMiddleware], Response[Any]]:
    """Record each audited request once it is answered; a failed write is logged, and does
    not turn the answer (whose change is done) into an error."""

    def middleware(app: ApiGatewayResolver, next_middleware: NextMiddleware) -> Response[Any]:
        response = next_middleware(app)
        try:
            entry = audit_entry(app.current_event.raw_event, response.status_code, clock())
            if entry is not None:
                audit().add(entry)
        except Exception:
            logger.exception("audit entry not written")
        return response

    return middleware
