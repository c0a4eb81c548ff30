from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.query import (
    audit_routes,
    config_routes,
    event_routes,
    feed_routes,
    health_routes,
    policy_routes,
    quarantine_routes,
    routes,
    saved_query_routes,
    wiring,
)
from mailgate.api import openapi
from mailgate.api.audit_trail import audit_middleware
from mailgate.api.resolver import build_resolver
from mailgate.clock import utcnow
from mailgate.observability import logger, tracer

ROUTERS = (
    routes.router,
    feed_routes.router,  # before event_routes: /v1/events/feed is no event id
    saved_query_routes.router,
    event_routes.router,
    quarantine_routes.router,
    config_routes.router,
    policy_routes.router,
    health_routes.router,
    audit_routes.router,
    openapi.router,
)
app = build_resolver(*ROUTERS)
app.use([audit_middleware(wiring.audit_trail, utcnow)])


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
