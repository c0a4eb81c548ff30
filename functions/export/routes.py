from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.export import wiring
from mailgate.api.models import ExportTaskList
from mailgate.api.resolver import tenant_of

router = APIGatewayRouter()


@router.get("/v1/exports", summary="The tenant's export tasks, newest first", tags=["exports"])
def list_exports() -> ExportTaskList:
    tasks = wiring.exports().tasks(tenant_of(router, "logs:export"))
    return ExportTaskList(tasks=tasks)
