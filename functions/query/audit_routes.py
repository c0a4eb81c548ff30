from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import AwareDatetime

from functions.query import wiring
from mailgate.api.models import AuditPage
from mailgate.api.resolver import tenant_of
from mailgate.catalog import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from mailgate.search.audit import AuditFilter

router = APIGatewayRouter()


@router.get(
    "/v1/audit",
    summary="The tenant's audit trail: changes, actions and searches, newest first",
    tags=["audit"],
)
def audit_trail(
    period: Annotated[Literal["1h", "24h", "7d", "14d", "30d"] | None, Query()] = None,
    start: Annotated[AwareDatetime | None, Query(description="with end: up to a year ago")] = None,
    end: Annotated[AwareDatetime | None, Query()] = None,
    actor: Annotated[str | None, Query(max_length=200, description="key name")] = None,
    action: Annotated[
        str | None, Query(max_length=100, description="exact, or a prefix ending in '.'")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=4096)] = None,
) -> AuditPage:
    return wiring.services().audit.search(
        tenant_of(router, "logs:read"),
        period,
        start,
        end,
        AuditFilter(actor=actor, action=action),
        limit,
        cursor,
    )
