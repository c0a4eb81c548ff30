"""The OpenAPI document of the whole tenant API, served as ``GET /v1/openapi.json``.

It is generated from the routers of every API function by ``make openapi`` and committed as
``openapi.json`` beside this module; a unit test fails when it no longer matches the routers.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

DOCUMENT_PATH = Path(__file__).with_name("openapi.json")

router = APIGatewayRouter()


@cache
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text(encoding="utf-8"))
    return loaded


@router.get("/v1/openapi.json", include_in_schema=False)
def openapi_json() -> dict[str, Any]:
    return document()
