"""``GET /v1/health``: no key, no tenant data — whether the detection engines answer."""

from __future__ import annotations

from functools import cache
from typing import Literal

from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel

from mailgate.engines.health import EngineState, engine_states
from mailgate.settings import Engines

router = APIGatewayRouter()


class Health(BaseModel):
    status: Literal["ok", "degraded"]  # degraded: a configured engine does not answer
    engines: list[EngineState]


@cache
def _settings() -> Engines:
    return Engines()


@router.get("/v1/health", summary="State of the detection engines (no API key)", tags=["health"])
def health() -> Health:
    engines = engine_states(_settings())
    down = any(engine.state == "down" for engine in engines)
    return Health(status="degraded" if down else "ok", engines=engines)
