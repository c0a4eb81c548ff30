from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.export.routes import router
from mailgate.api.resolver import build_resolver
from mailgate.settings import ExportSettings
from mailgate.storage.exports import ExportStore

logger = Logger(service="mailgate", child=False)
settings = ExportSettings()
app = build_resolver()
app.include_router(router)
exports = ExportStore(settings.exports_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(exports=exports)
    return app.resolve(event, context)
