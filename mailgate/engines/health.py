"""Each engine's state as ``GET /v1/health`` reports it: asked now, briefly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import BaseModel

from mailgate.engines import EngineError
from mailgate.engines.clamd import ClamdClient
from mailgate.engines.rspamd import RspamdClient
from mailgate.settings import Engines

PROBE_TIMEOUT_S = 2.0


class EngineState(BaseModel):
    name: str
    state: Literal["up", "down", "not_configured"]
    version: str = ""  # rspamd: its version; clamd: "engine;database"
    error: str = ""


def _state(name: str, version: Callable[[], str] | None) -> EngineState:
    if version is None:
        return EngineState(name=name, state="not_configured")
    try:
        return EngineState(name=name, state="up", version=version())
    except EngineError as error:
        return EngineState(name=name, state="down", error=str(error))


def engine_states(settings: Engines) -> list[EngineState]:
    timeout_s = min(settings.engine_timeout_s, PROBE_TIMEOUT_S)
    rspamd = RspamdClient(settings.rspamd_url, timeout_s).ping if settings.rspamd_url else None
    clamd: Callable[[], str] | None = None
    if settings.clamd_address:
        client = ClamdClient(settings.clamd_address, timeout_s, settings.clamd_max_bytes)
        clamd = lambda: ";".join(client.version())  # noqa: E731
    return [_state("rspamd", rspamd), _state("clamd", clamd)]
