"""API keys → tenant and scopes; the IAM policy an API Gateway REQUEST authorizer returns."""

from __future__ import annotations

from typing import Any

from mailgate.api.errors import UNAUTHORIZED_MESSAGE, Unauthorized
from mailgate.storage.tenants import ApiKey, TenantStore

SCOPES = ("logs:read", "logs:export", "quarantine:write", "config:write")
BEARER = "bearer "
MAX_KEY_LENGTH = 256


def bearer_key(header: str | None) -> str:
    if not header or not header.lower().startswith(BEARER):
        raise Unauthorized("unauthorized", UNAUTHORIZED_MESSAGE)
    key = header[len(BEARER) :].strip()
    if not key or len(key) > MAX_KEY_LENGTH:
        raise Unauthorized("unauthorized", UNAUTHORIZED_MESSAGE)
    return key


def authenticate(header: str | None, tenants: TenantStore) -> ApiKey:
    found = tenants.api_key(bearer_key(header))
    if found is None:
        raise Unauthorized("unauthorized", UNAUTHORIZED_MESSAGE)
    return found


def allow_policy(key: ApiKey, method_arn: str) -> dict[str, Any]:
    """Allow every method of this API's stage (the result is cached per key), and hand the
    tenant, the scopes and the key's name to the handlers through the request context."""
    arn_parts = method_arn.split("/")
    stage_arn = "/".join(arn_parts[:2]) + "/*" if len(arn_parts) >= 2 else method_arn
    return {
        "principalId": key.tenant_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": stage_arn}
            ],
        },
        "context": {
            "tenant_id": key.tenant_id,
            "scopes": " ".join(key.scopes),
            "key_name": key.name,
        },
    }
