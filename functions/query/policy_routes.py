"""The tenant's stage-2 policy rules (scope ``config:write``), one direction at a time
(docs/stage2.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.query import wiring
from functions.query.policy_service import PolicyList, PolicyService, RuleDocument, RuleOrder
from mailgate.api.models import ErrorBody
from mailgate.api.resolver import tenant_of
from mailgate.catalog import Direction
from mailgate.policy.rules import RuleInput

SCOPE = "config:write"
TAGS = ["policies"]
RuleId = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,64}$")]


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


_RESPONSES: dict[int, Any] = {
    400: _error("invalid_request or invalid_config: the message names the field"),
    403: _error("forbidden (the key lacks config:write), or rule_not_editable"),
    404: _error("rule_not_found"),
    409: _error("version_conflict: the configuration kept changing; try again"),
    413: _error("config_too_large: the configuration would not fit in one item"),
}

router = APIGatewayRouter()


def _service() -> PolicyService:
    return wiring.services().policies


@router.get(
    "/v1/policies/<direction>",
    summary="The rules of one direction, and the order stage 2 runs them in",
    tags=TAGS,
    responses=_RESPONSES,
)
def list_rules(direction: Direction) -> PolicyList:
    return _service().list(tenant_of(router, SCOPE), direction)


@router.post(
    "/v1/policies/<direction>/rules",
    summary="Add a rule (at the end of its category)",
    tags=TAGS,
    responses=_RESPONSES,
)
def create_rule(direction: Direction, rule: Annotated[RuleInput, Body()]) -> RuleDocument:
    return _service().create(tenant_of(router, SCOPE), direction, rule)


@router.put(
    "/v1/policies/<direction>/rules/<rule_id>",
    summary="Replace a rule",
    tags=TAGS,
    responses=_RESPONSES,
)
def replace_rule(
    direction: Direction, rule_id: RuleId, rule: Annotated[RuleInput, Body()]
) -> RuleDocument:
    return _service().replace(tenant_of(router, SCOPE), direction, rule_id, rule)


@router.delete(
    "/v1/policies/<direction>/rules/<rule_id>",
    summary="Delete a rule",
    tags=TAGS,
    responses=_RESPONSES,
)
def delete_rule(direction: Direction, rule_id: RuleId) -> PolicyList:
    return _service().delete(tenant_of(router, SCOPE), direction, rule_id)


@router.put(
    "/v1/policies/<direction>/order",
    summary="Put the rules of a direction in a new order",
    tags=TAGS,
    responses=_RESPONSES,
)
def order_rules(direction: Direction, order: Annotated[RuleOrder, Body()]) -> PolicyList:
    return _service().order(tenant_of(router, SCOPE), direction, order)
