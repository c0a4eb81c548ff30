"""Writes the tenant API's OpenAPI document (``mailgate/api/openapi.json``) from the routers of
every API function: ``make openapi``. A build step, so it lives with the local composition root
and never ships."""

from __future__ import annotations

import importlib
import json
from typing import Any

from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from mailgate import resources
from mailgate.api import openapi
from mailgate.api.resolver import build_resolver

TITLE = "mailgate tenant API"
VERSION = "1"
DESCRIPTION = (
    "Mail tracking, policy events, exports, quarantine and configuration of one tenant. The "
    'tenant is the one of the API key; errors are {"error": {"code", "message"}}.'
)


def api_routers() -> list[APIGatewayRouter]:
    """The routers of the functions that serve the API, as their handler modules list them."""
    routers: list[APIGatewayRouter] = []
    for function in resources.FUNCTIONS:
        if function.api:
            routers.extend(importlib.import_module(function.handler_module).ROUTERS)
    return routers


def document() -> dict[str, Any]:
    schema = build_resolver(*api_routers()).get_openapi_schema(
        title=TITLE,
        version=VERSION,
        description=DESCRIPTION,
        security_schemes={"apiKey": HTTPBearer(description="Authorization: Bearer <api key>")},
        security=[{"apiKey": []}],
    )
    result: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return result


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    openapi.DOCUMENT_PATH.write_text(render(document()), encoding="utf-8")


if __name__ == "__main__":
    main()
