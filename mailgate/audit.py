"""The audit trail: who did what to a tenant's data, and who searched it.

Each entry names the actor (an API key's name, or ``operator <name>`` for the operator tool),
the time, the action, its target and details, and the address it came from. Entries are kept
a year (``AUDIT_RETENTION``) and read by the tenant (``GET /v1/audit``) and by operators.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field, JsonValue

AUDIT_RETENTION = timedelta(days=365)
ActorKind = Literal["api_key", "operator"]


class AuditEntry(BaseModel):
    tenant_id: str
    time: datetime
    entry_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    actor: str
    actor_kind: ActorKind = "api_key"
    action: str  # "<resource>.<verb>", e.g. "quarantine.release", "tracking.search"
    target: str = ""  # the path (with its identifiers) or what an operator acted on
    ip: str = ""
    details: dict[str, JsonValue] = Field(default_factory=dict)


def operator(name: str) -> str:
    """How an operator is named as an actor."""
    return f"operator {name}"
