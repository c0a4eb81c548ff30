from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from mailgate.api.errors import Unauthorized
from mailgate.auth import allow_policy, authenticate
from mailgate.settings import AuthorizerSettings
from mailgate.storage.tenants import TenantStore

logger = Logger(service="mailgate", child=False)
tenants = TenantStore(AuthorizerSettings().tenants_table)


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    try:
        key = authenticate(headers.get("authorization"), tenants)
    except Unauthorized as error:
        # API Gateway answers 401 (with the UNAUTHORIZED gateway response) for this exact text.
        raise Exception("Unauthorized") from error
    return allow_policy(key, event["methodArn"])
