"""The OpenAPI document of the whole tenant API, generated from the routes and models."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from functions.export.routes import router as export_router
from functions.query.config_routes import router as config_router
from functions.query.routes import router as query_router
from mailgate.api.resolver import build_resolver

TITLE = "mailgate tenant API"
VERSION = "1"


def document() -> dict[str, Any]:
    app = build_resolver()
    app.include_router(query_router)
    app.include_router(export_router)
    app.include_router(config_router)
    schema = app.get_openapi_schema(
        title=TITLE,
        version=VERSION,
        description=(
            "Mail tracking, policy events, exports, quarantine and configuration of one "
            'tenant. The tenant is the one of the API key; errors are {"error": {"code", '
            '"message"}}.'
        ),
        security_schemes={"apiKey": HTTPBearer(description="Authorization: Bearer <api key>")},
        security=[{"apiKey": []}],
    )
    result: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result
