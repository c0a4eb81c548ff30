from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.query import wiring
from functions.query.saved_queries_service import SavedQueryService
from mailgate.api.models import SavedQueries, SaveQuery
from mailgate.api.resolver import tenant_of

router = APIGatewayRouter()
# Whoever may search the logs may keep their searches; saving changes nothing but the list.
SCOPE = "logs:read"


def _service() -> SavedQueryService:
    return wiring.services().saved_queries


@router.get(
    "/v1/tracking/queries",
    summary="The tenant's saved tracking searches and its last 10 searches",
    tags=["tracking"],
)
def list_queries() -> SavedQueries:
    return _service().list(tenant_of(router, SCOPE))


@router.post(
    "/v1/tracking/queries",
    summary="Save a tracking search under a name",
    description="At most 100 per tenant; names are unique whatever their case (409 otherwise). "
    "The body is validated like a search.",
    tags=["tracking"],
)
def save_query(request: Annotated[SaveQuery, Body()]) -> SavedQueries:
    return _service().save(tenant_of(router, SCOPE), request)


@router.delete(
    "/v1/tracking/queries",
    summary="Delete a saved tracking search",
    tags=["tracking"],
)
def delete_query(name: Annotated[str, Query(min_length=1, max_length=100)]) -> SavedQueries:
    return _service().delete(tenant_of(router, SCOPE), name)
