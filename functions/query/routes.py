from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.query import wiring
from functions.query.tracking_service import TrackingService
from mailgate.api.models import (
    RelatedRows,
    TrackingDetail,
    TrackingPage,
    TrackingReconcile,
    TrackingReconciliation,
    TrackingSearch,
)
from mailgate.api.resolver import tenant_of

router = APIGatewayRouter()


def _service() -> TrackingService:
    return wiring.services().tracking


@router.post("/v1/tracking/search", summary="Search mail tracking rows", tags=["tracking"])
def search_tracking(request: Annotated[TrackingSearch, Body()]) -> TrackingPage:
    tenant_id = tenant_of(router, "logs:read")
    page = _service().search(tenant_id, request)
    wiring.services().saved_queries.remember(tenant_id, request)
    return page


@router.post(
    "/v1/tracking/reconcile",
    summary="Account for every accepted row of a period",
    description="Counts the accepted rows of the period by where they stand: final (per "
    "status), retrying (with the soonest and latest next try), dead-lettered, held (quarantined) "
    "and in flight; and lists the rows that are none of these: processing longer than any job "
    "of a stage lives, or temporary_error long after its retry was due. A healthy gateway "
    "has 0 unaccounted.",
    tags=["tracking"],
)
def reconcile_tracking(
    request: Annotated[TrackingReconcile, Body()],
) -> TrackingReconciliation:
    return _service().reconcile(tenant_of(router, "logs:read"), request)


@router.get(
    "/v1/tracking/<message_uuid>",
    summary="Detail of one message for one recipient",
    tags=["tracking"],
)
def tracking_detail(
    message_uuid: Annotated[str, Path(max_length=64)],
    recipient: Annotated[str | None, Query(max_length=320)] = None,
) -> TrackingDetail:
    return _service().detail(tenant_of(router, "logs:read"), message_uuid, recipient)


@router.get(
    "/v1/tracking/<message_uuid>/related",
    summary="Rows of other messages with the same Message-ID",
    description="The inbound and outbound legs of one message, its BCC copies, and the "
    "notifications and delivery status notifications written about it: the tenant's rows "
    "that carry this message's Message-ID (or the one it was written about), oldest first, "
    "the message's own rows left out.",
    tags=["tracking"],
)
def related_rows(message_uuid: Annotated[str, Path(max_length=64)]) -> RelatedRows:
    return _service().related(tenant_of(router, "logs:read"), message_uuid)
