from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.query import openapi
from functions.query.config_routes import router as config_router
from functions.query.config_service import ConfigService
from functions.query.routes import router
from functions.query.tracking_service import TrackingService
from mailgate.api.resolver import build_resolver
from mailgate.search.cursor import CursorSigner
from mailgate.secrets import secret_bytes
from mailgate.settings import QuerySettings
from mailgate.storage.tenants import TenantConfigStore
from mailgate.storage.tracking import TrackingStore

logger = Logger(service="mailgate", child=False)
settings = QuerySettings()
app = build_resolver()
app.include_router(router)
app.include_router(config_router)
tracking = TrackingService(
    TrackingStore(settings.tracking_table), CursorSigner(secret_bytes(settings.cursor_secret_id))
)
config = ConfigService(TenantConfigStore(settings.tenants_table))


@app.get("/v1/openapi.json", include_in_schema=False)
def openapi_json() -> dict[str, Any]:
    return openapi.document()


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    app.append_context(tracking=tracking, config=config)
    return app.resolve(event, context)
