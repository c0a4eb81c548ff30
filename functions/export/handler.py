from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.export import quota_headers, routes, wiring
from mailgate.api.audit_trail import audit_middleware
from mailgate.api.resolver import build_resolver
from mailgate.clock import utcnow
from mailgate.observability import logger, tracer

ROUTERS = (routes.router,)
app = build_resolver(*ROUTERS)
app.use([audit_middleware(wiring.audit_trail, utcnow)])


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return quota_headers.added(app.resolve(event, context), event)
