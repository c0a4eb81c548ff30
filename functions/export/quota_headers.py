"""Every answer of the export routes tells the caller's tenant its export-all quota left today,
its errors included (so a client learns it without a call that spends it)."""

from __future__ import annotations

from typing import Any

from functions.export import wiring
from mailgate.clock import iso

REMAINING = "X-Export-Quota-Remaining"
RESET = "X-Export-Quota-Reset"


def added(response: dict[str, Any], event: dict[str, Any]) -> dict[str, Any]:
    """``response`` with the quota headers, when the request came with a tenant's key."""
    context = (event.get("requestContext") or {}).get("authorizer") or {}
    tenant_id = context.get("tenant_id")
    if not tenant_id:
        return response
    quota = wiring.service().quota(str(tenant_id))
    headers = response.setdefault("multiValueHeaders", {})
    headers[REMAINING] = [str(quota.remaining)]
    headers[RESET] = [iso(quota.reset)]
    return response
