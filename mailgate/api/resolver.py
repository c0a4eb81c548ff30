"""The API Gateway resolver every API function uses: validation, error shape, tenant context."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from mailgate.api.errors import (
    FORBIDDEN_MESSAGE,
    UNAUTHORIZED_MESSAGE,
    ApiError,
    Forbidden,
    Unauthorized,
    error_body,
    validation_sentence,
)

JSON = "application/json"


def _json_response(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=JSON, body=body)


def _sentence(error: dict[str, Any]) -> str:
    if error.get("type") in ("json_invalid", "model_attributes_type"):
        return "The request body must be a JSON object."
    location = [part for part in error.get("loc", ())[1:] if part != "body"]
    if error.get("type") == "list_type" and not location:
        return "The request body must be a JSON array."
    return validation_sentence(
        location, str(error.get("type", "")), str(error.get("msg", "invalid value"))
    )


def build_resolver(*routers: APIGatewayRouter) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver(enable_validation=True)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response[dict[str, Any]]:
        return _json_response(error.status, error.body())

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[dict[str, Any]]:
        errors = error.errors()
        return _json_response(400, error_body("invalid_request", _sentence(errors[0])))

    @app.not_found
    def _not_found(_: Exception) -> Response[dict[str, Any]]:
        return _json_response(404, error_body("not_found", "No such resource."))

    return app


def tenant_of(router: BaseRouter, scope: str) -> str:
    """The tenant of the caller's API key, as the authorizer put it in the request context."""
    request_context: dict[str, Any] = router.current_event.get("requestContext") or {}
    context: dict[str, Any] = request_context.get("authorizer") or {}
    tenant_id = context.get("tenant_id")
    if not tenant_id:
        raise Unauthorized("unauthorized", UNAUTHORIZED_MESSAGE)
    if scope not in str(context.get("scopes", "")).split():
        raise Forbidden("forbidden", FORBIDDEN_MESSAGE)
    return str(tenant_id)
