"""The export routes (scope ``logs:export``)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.export import wiring
from mailgate.api.models import (
    ErrorBody,
    ExportRequest,
    ExportStarted,
    ExportTaskDetail,
    ExportTaskList,
)
from mailgate.api.request_body import JSON
from mailgate.api.resolver import tenant_of

SCOPE = "logs:export"
TAGS = ["exports"]
router = APIGatewayRouter()


def _error(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


_START_RESPONSES: dict[int, Any] = {
    200: {
        "description": "`select` given: the file itself (CSV: UTF-8 with a BOM, CRLF)",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    },
    202: {
        "description": "`select` null: the export task, processing",
        "content": {"application/json": {"model": ExportStarted}},
    },
    400: _error("invalid_request: the message names the field"),
    404: _error("rows_not_found: none of the selected rows or events is the tenant's"),
    429: _error("export_quota: today's export-all quota is used up (the message is localized)"),
}


_GET_RESPONSES: dict[int, Any] = {404: _error("task_not_found: no such task of the tenant")}


@router.post(
    "/v1/exports",
    summary="Export the selected rows at once, or start exporting all rows of a query",
    description="Every answer of the export routes carries X-Export-Quota-Remaining (export-all "
    "tasks left today) and X-Export-Quota-Reset (when the UTC day ends).",
    tags=TAGS,
    responses=_START_RESPONSES,
)
def start_export(request: Annotated[ExportRequest, Body()]) -> Response[Any]:
    tenant_id = tenant_of(router, SCOPE)
    service = wiring.service()
    if request.select is None:
        task = service.start(tenant_id, request)
        started = ExportStarted(task_id=task.task_id, status=task.status)
        return Response(202, JSON, started.model_dump_json())
    file = service.selected(tenant_id, request, request.select)
    return Response(
        200,
        file.media_type,
        file.text,
        headers={"Content-Disposition": f'attachment; filename="{file.name}"'},
    )


@router.get("/v1/exports", summary="The tenant's export tasks, newest first", tags=TAGS)
def list_exports() -> ExportTaskList:
    return ExportTaskList(tasks=wiring.service().tasks(tenant_of(router, SCOPE)))


@router.get(
    "/v1/exports/<task_id>",
    summary="One export task, with a download link once complete",
    tags=TAGS,
    responses=_GET_RESPONSES,
)
def get_export(task_id: Annotated[str, Path(max_length=64)]) -> ExportTaskDetail:
    return wiring.service().task(tenant_of(router, SCOPE), task_id)
