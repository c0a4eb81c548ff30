"""Saved tracking searches: the queries a tenant keeps by name, and its last searches.

A stored body is the search request without its cursor (a page position means nothing to a
later search): a preset period ("24h") stays relative, a custom one stays absolute.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

from pydantic import JsonValue

from mailgate.api.models import TrackingSearch

MAX_SAVED = 100  # saved queries per tenant
MAX_RECENT = 10  # last searches kept per tenant
MAX_BODY = 16 * 1024  # bytes of JSON a stored search may take


@dataclass(frozen=True)
class StoredQuery:
    """A saved query (``name`` given) or a recent search (``name`` empty)."""

    name: str
    body: dict[str, JsonValue]
    at: datetime  # when it was saved or last searched


def stored_body(request: TrackingSearch) -> dict[str, JsonValue]:
    """The request as kept: the fields that differ from their defaults, minus the cursor."""
    body: dict[str, JsonValue] = request.model_dump(
        mode="json", exclude_defaults=True, exclude={"cursor"}
    )
    return body


def body_digest(body: dict[str, JsonValue]) -> str:
    """The same search, however its fields were ordered, has the same digest: searching it
    again moves it to the top of the recent list rather than adding a copy."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def body_size(body: dict[str, JsonValue]) -> int:
    return len(json.dumps(body, ensure_ascii=False).encode())


def name_key(name: str) -> str:
    """Names are unique per tenant without regard to case."""
    return name.casefold()
