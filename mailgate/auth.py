"""API keys → tenant and scopes; the IAM policy an API Gateway REQUEST authorizer returns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from mailgate.api.errors import UNAUTHORIZED_MESSAGE, Unauthorized
from mailgate.observability import logger
from mailgate.ports import ApiKeys
from mailgate.tenants import LAST_USED_RESOLUTION, ApiKey

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


def authenticate(header: str | None, keys: ApiKeys, now: datetime) -> ApiKey:
    """The stored key the header carries; 401 for none, an unknown, revoked or expired key.
    Its use is recorded at most once a minute (a failed write never refuses the request)."""
    secret = bearer_key(header)
    found = keys.api_key(secret)
    if found is None or found.expired(now):
        raise Unauthorized("unauthorized", UNAUTHORIZED_MESSAGE)
    if found.last_used_at is None or now - found.last_used_at >= LAST_USED_RESOLUTION:
        try:
            keys.touch_api_key(secret, now)
        except Exception:
            logger.exception("last use of an API key not recorded", extra={"key": found.key_id})
    return found


def _policy(key: ApiKey, method_arn: str, effect: str) -> dict[str, Any]:
    arn_parts = method_arn.split("/")
    stage_arn = "/".join(arn_parts[:2]) + "/*" if len(arn_parts) >= 2 else method_arn
    return {
        "principalId": key.tenant_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": effect, "Resource": stage_arn}
            ],
        },
        "context": {
            "tenant_id": key.tenant_id,
            "scopes": " ".join(key.scopes),
            "key_name": key.name,
        },
    }


def allow_policy(key: ApiKey, method_arn: str) -> dict[str, Any]:
    """Allow every method of this API's stage (the result is cached per key), and hand the
    tenant, the scopes and the key's name to the handlers through the request context."""
    return _policy(key, method_arn, "Allow")


def deny_policy(key: ApiKey, method_arn: str) -> dict[str, Any]:
    """A valid key of a suspended tenant: API Gateway answers 403 (cached like an Allow)."""
    return _policy(key, method_arn, "Deny")
