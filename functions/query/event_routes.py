"""Policy events (scope ``logs:read``): search, and the detail of one event."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.query import wiring
from functions.query.events_service import EventsService
from mailgate.api.models import EventDetail, EventPage, EventSearch, error_response
from mailgate.api.resolver import tenant_of

SCOPE = "logs:read"
TAGS = ["events"]

router = APIGatewayRouter()


def _service() -> EventsService:
    return wiring.services().events


_SEARCH_RESPONSES: dict[int, Any] = {
    200: {"description": "A page of events and the cursor of the next"},
    400: error_response("invalid_request, invalid_period, period_too_long, invalid_cursor, …"),
    403: error_response("forbidden: the API key lacks the logs:read scope"),
}
_DETAIL_RESPONSES: dict[int, Any] = {
    200: {"description": "The event"},
    404: error_response("event_not_found: no such event of this tenant (or it has expired)"),
}


@router.post(
    "/v1/events/search",
    summary="Search policy events",
    description="One row per message and detection, newest first by default. `threats` "
    "narrows a threat type by its subtypes or detection methods (catalog.md).",
    tags=TAGS,
    responses=_SEARCH_RESPONSES,
)
def search_events(request: Annotated[EventSearch, Body()]) -> EventPage:
    return _service().search(tenant_of(router, SCOPE), request)


@router.get(
    "/v1/events/<event_id>",
    summary="Detail of one policy event, with the engine's details",
    tags=TAGS,
    responses=_DETAIL_RESPONSES,
)
def event_detail(event_id: Annotated[str, Path(min_length=1, max_length=256)]) -> EventDetail:
    return _service().detail(tenant_of(router, SCOPE), event_id)
