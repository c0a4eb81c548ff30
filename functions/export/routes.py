from __future__ import annotations

from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from mailgate.api.models import ExportTaskList
from mailgate.api.resolver import tenant_of
from mailgate.storage.exports import ExportStore

router = APIGatewayRouter()


@router.get("/v1/exports", summary="The tenant's export tasks, newest first", tags=["exports"])
def list_exports() -> ExportTaskList:
    store: ExportStore = router.context["exports"]
    return ExportTaskList(tasks=store.tasks(tenant_of(router, "logs:export")))
