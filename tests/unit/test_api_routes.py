"""The API's routes are declared in ``mailgate.resources.API_ROUTES`` (API Gateway and the local
server route from it) and served by the routers of each function: the two must agree, the
committed OpenAPI document must be the one the routers generate, and every router must reach
its services whichever resolver last included it."""

from __future__ import annotations

import importlib
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from functions.export import wiring as export_wiring
from functions.export.service import Quota
from local import openapi as openapi_writer
from local.lambda_context import LocalContext
from mailgate import resources
from mailgate.api import openapi
from mailgate.api.models import ExportTask
from mailgate.catalog import ExportStatus
from mailgate.export.formats import Format

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"


def _served_routes() -> set[tuple[str, str, str]]:
    served = set()
    for function in resources.FUNCTIONS:
        if function.api:
            app = importlib.import_module(function.handler_module).app
            # Powertools keeps a resolver's routes in these two lists (no public accessor).
            for route in app._static_routes + app._dynamic_routes:
                served.add((route.method, route.openapi_path, function.id))
    return served


def test_declared_routes_are_the_routes_the_functions_serve() -> None:
    declared = {(route.method, route.path, route.function) for route in resources.API_ROUTES}

    served = _served_routes()

    assert served - declared == set(), "served but not declared in resources.API_ROUTES"
    assert declared - served == set(), "declared in resources.API_ROUTES, not served"


def test_committed_openapi_document_is_generated_from_the_routers() -> None:
    committed = openapi.DOCUMENT_PATH.read_text(encoding="utf-8")

    assert committed == openapi_writer.render(openapi_writer.document()), (
        "mailgate/api/openapi.json is out of date: run `make openapi`"
    )


class _FakeExports:
    def tasks(self, tenant_id: str) -> list[ExportTask]:
        return [
            ExportTask(
                task_id=f"{tenant_id}-task",
                created_at="2025-06-15T09:00:00Z",
                status=ExportStatus.COMPLETE,
                file_name="78e3f115-dc78-43d3-80b5-a4632f8c1ad2.csv.zip",
                format=Format.CSV,
                expires_at="2025-06-22T09:00:00Z",
            )
        ]

    def quota(self, tenant_id: str) -> Quota:
        return Quota(remaining=3, reset=datetime(2025, 6, 16, tzinfo=UTC))


def test_export_routes_reach_their_store_after_another_resolver_included_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the export function, and its router included since in the document's resolver
    from functions.export.handler import handler

    monkeypatch.setattr(export_wiring, "service", _FakeExports)
    openapi_writer.document()
    event = json.loads((EVENTS / "list_exports.json").read_text())

    # When the export function serves GET /v1/exports
    response = handler(event, LocalContext(function_name="export"))

    # Then the tenant's tasks come from the export function's store, with its quota left today
    assert response["statusCode"] == 200, response["body"]
    assert [task["task_id"] for task in json.loads(response["body"])["tasks"]] == ["tenant-a-task"]
    assert response["multiValueHeaders"]["X-Export-Quota-Remaining"] == ["3"]
    assert response["multiValueHeaders"]["X-Export-Quota-Reset"] == ["2025-06-16T00:00:00.000000Z"]
