"""The SIEM feed (scope ``logs:read``): policy events and blocked traffic in the order written."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import AwareDatetime

from functions.query import wiring
from mailgate.api.models import error_response
from mailgate.api.resolver import tenant_of
from mailgate.catalog import MAX_PAGE_SIZE
from mailgate.export.siem import FeedFormat

CURSOR_HEADER = "X-Feed-Cursor"
router = APIGatewayRouter()

_RESPONSES: dict[int, Any] = {
    200: {
        "description": "One line per policy event or blocked message and recipient, in the order "
        f"written (CEF, or JSON Lines); {CURSOR_HEADER} holds the cursor to poll with next",
        "content": {
            "text/plain": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    400: error_response("invalid_request, invalid_cursor"),
    403: error_response("forbidden: the API key lacks the logs:read scope"),
}


@router.get(
    "/v1/events/feed",
    summary="The SIEM feed: policy events and blocked traffic in the order written",
    description="Poll with the cursor of the last answer: the next answer starts exactly after "
    "its last line, and a cursor stays valid over the 90 days of retention (replay a day with "
    "an old cursor, or with `since`). Lines appear two minutes after they are written.",
    tags=["events"],
    responses=_RESPONSES,
)
def events_feed(
    cursor: Annotated[str | None, Query(max_length=1024)] = None,
    since: Annotated[AwareDatetime | None, Query(description="start after this time")] = None,
    format: Annotated[FeedFormat, Query()] = FeedFormat.CEF,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = MAX_PAGE_SIZE,
) -> Response[str]:
    tenant_id = tenant_of(router, "logs:read")
    page = wiring.services().feed.page(tenant_id, format, limit, cursor, since)
    body = "".join(line + "\n" for line in page.lines)
    return Response(200, format.media_type, body, headers={CURSOR_HEADER: page.cursor})
