"""The API Gateway resolver every API function uses: validation, error shape, tenant context."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.api_gateway import BaseRouter
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailgate.api.errors import (
    FORBIDDEN_MESSAGE,
    UNAUTHORIZED_MESSAGE,
    ApiError,
    Forbidden,
    Unauthorized,
    error_body,
    internal_error_message,
    validation_sentence,
)
from mailgate.api.request_body import JSON, json_request, loads
from mailgate.observability import logger


def _json_response(status: int, body: dict[str, Any]) -> Response[dict[str, Any]]:
    return Response(status_code=status, content_type=JSON, body=body)


def _sentence(error: dict[str, Any]) -> str:
    kind = error.get("type")
    location = [part for part in error.get("loc", ())[1:] if part != "body"]
    if kind == "json_invalid":
        reason = str((error.get("ctx") or {}).get("error", "")).rstrip(".")
        return f"The request body is not valid JSON: {reason[:1].lower()}{reason[1:]}."
    if kind == "missing" and not location:
        return "The request needs a JSON body; this one is empty or null."
    if kind == "model_attributes_type":
        return "The request body must be a JSON object."
    if kind == "list_type" and not location:
        return "The request body must be a JSON array."
    return validation_sentence(location, str(kind), str(error.get("msg", "invalid value")))


class ApiResolver(APIGatewayRestResolver):
    """Every request body is read as JSON (``mailgate.api.request_body``) before it is routed."""

    def resolve(self, event: Mapping[str, Any], context: LambdaContext) -> dict[str, Any]:
        try:
            request = json_request(event)
        except ApiError as error:
            return {
                "statusCode": error.status,
                "multiValueHeaders": {"Content-Type": [JSON]},
                "body": json.dumps(error.body()),
                "isBase64Encoded": False,
            }
        return super().resolve(request, context)


def build_resolver(*routers: APIGatewayRouter) -> ApiResolver:
    app = ApiResolver(enable_validation=True, json_body_deserializer=loads)
    for router in routers:
        app.include_router(router)

    @app.exception_handler(ApiError)
    def _api_error(error: ApiError) -> Response[dict[str, Any]]:
        return _json_response(error.status, error.body())

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response[dict[str, Any]]:
        errors = error.errors()
        return _json_response(400, error_body("invalid_request", _sentence(errors[0])))

    @app.exception_handler(Exception)
    def _unexpected(error: Exception) -> Response[dict[str, Any]]:
        # API Gateway's request id: the caller is told it, the log line and access log hold it.
        request_context = app.current_event.get("requestContext") or {}
        request_id = str(request_context.get("requestId", "unknown"))
        logger.exception("unexpected error", extra={"request_id": request_id}, exc_info=error)
        return _json_response(500, error_body("internal_error", internal_error_message(request_id)))

    @app.not_found
    def _not_found(_: Exception) -> Response[dict[str, Any]]:
        return _json_response(404, error_body("not_found", "No such resource."))

    return app


@dataclass(frozen=True)
class Caller:
    tenant_id: str
    key_name: str  # who acted, as records of the change name them


# A key stored without a name, or an authorizer answer cached before keys' names were passed on.
UNNAMED_KEY = "an unnamed API key"


def caller_of(router: BaseRouter, scope: str) -> Caller:
    """The tenant and name of the caller's API key, as the authorizer put them in the request
    context; 401 without a tenant, 403 without ``scope``."""
    request_context: dict[str, Any] = router.current_event.get("requestContext") or {}
    context: dict[str, Any] = request_context.get("authorizer") or {}
    tenant_id = context.get("tenant_id")
    if not tenant_id:
        raise Unauthorized("unauthorized", UNAUTHORIZED_MESSAGE)
    if scope not in str(context.get("scopes", "")).split():
        raise Forbidden("forbidden", FORBIDDEN_MESSAGE)
    return Caller(str(tenant_id), str(context.get("key_name") or UNNAMED_KEY))


def tenant_of(router: BaseRouter, scope: str) -> str:
    """The tenant of the caller's API key (see ``caller_of``)."""
    return caller_of(router, scope).tenant_id
