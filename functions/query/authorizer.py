from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from functions.query import wiring
from mailgate.api.errors import Unauthorized
from mailgate.auth import allow_policy, authenticate, deny_policy
from mailgate.clock import utcnow
from mailgate.observability import logger, tracer


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    try:
        key = authenticate(headers.get("authorization"), wiring.authorizer_tenants(), utcnow())
    except Unauthorized as error:
        # API Gateway answers 401 (with the UNAUTHORIZED gateway response) for this exact text.
        raise Exception("Unauthorized") from error
    if wiring.suspended_tenants()(key.tenant_id):
        return deny_policy(key, event["methodArn"])
    return allow_policy(key, event["methodArn"])
