"""The quarantine: search and detail (scope ``logs:read``), release and delete (scope
``quarantine:write``)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.query import wiring
from functions.query.quarantine_service import QuarantineService
from mailgate.api.models import (
    QuarantineAction,
    QuarantineDetail,
    QuarantinePage,
    QuarantineReport,
    QuarantineSearch,
    error_response,
)
from mailgate.api.resolver import caller_of, tenant_of

READ_SCOPE = "logs:read"
WRITE_SCOPE = "quarantine:write"
TAGS = ["quarantine"]
_ANSWERS = (
    "Each message is answered on its own: released / deleted, not_found (unknown, expired or "
    "another tenant's), already_released, already_deleted, or failed (nothing changed; try "
    "again). With `query`, at most 10,000 messages are handled per call and `remaining` says "
    "how many the query still selects."
)

router = APIGatewayRouter()


_WRITE_RESPONSES: dict[int, Any] = {
    200: {"description": "The answer for each message"},
    400: error_response(
        "invalid_request: neither or both of message_uuids and query, over 1,000 ids"
    ),
    403: error_response("forbidden: the API key lacks the quarantine:write scope"),
}


_SEARCH_RESPONSES: dict[int, Any] = {
    200: {"description": "A page of quarantined messages and the cursor of the next"},
    400: error_response("invalid_request, invalid_period, period_too_long, invalid_cursor, …"),
    403: error_response("forbidden: the API key lacks the logs:read scope"),
}
_DETAIL_RESPONSES: dict[int, Any] = {
    200: {"description": "The quarantine entry"},
    404: error_response("message_not_found: not in this tenant's quarantine (or expired)"),
}


def _service() -> QuarantineService:
    return wiring.services().quarantine


@router.post(
    "/v1/quarantine/search",
    summary="Search the messages in quarantine",
    description="Messages still quarantined (not released or deleted), newest first by default.",
    tags=TAGS,
    responses=_SEARCH_RESPONSES,
)
def search_quarantine(request: Annotated[QuarantineSearch, Body()]) -> QuarantinePage:
    return _service().search(tenant_of(router, READ_SCOPE), request)


@router.post(
    "/v1/quarantine/release",
    summary="Release quarantined messages",
    description="Stage 2 goes on with the rules after the one that quarantined each message, "
    "then delivers it; the tracking detail names the API key that released it. " + _ANSWERS,
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def release(request: Annotated[QuarantineAction, Body()]) -> QuarantineReport:
    return _service().release(caller_of(router, WRITE_SCOPE), request)


@router.post(
    "/v1/quarantine/delete",
    summary="Delete quarantined messages",
    description="The raw message is deleted and its tracking rows say `deleted`; it cannot be "
    "restored. " + _ANSWERS,
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def delete(request: Annotated[QuarantineAction, Body()]) -> QuarantineReport:
    return _service().delete(caller_of(router, WRITE_SCOPE), request)


@router.get(
    "/v1/quarantine/<message_uuid>",
    summary="One quarantined message, and whether it was released or deleted",
    tags=TAGS,
    responses=_DETAIL_RESPONSES,
)
def quarantine_detail(
    message_uuid: Annotated[str, Path(min_length=1, max_length=64)],
) -> QuarantineDetail:
    return _service().detail(tenant_of(router, READ_SCOPE), message_uuid)
