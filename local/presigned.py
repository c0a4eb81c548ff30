"""S3 presigned links checked as S3 checks them: moto serves a presigned GET whatever its
signature says, so the local emulator verifies the SigV4 query signature (with the local
credentials every process of ``mailgate up`` uses) and the link's expiry before moto answers.
A link whose key, bucket or parameters were changed, or that has expired, is refused (403)."""

from __future__ import annotations

import hmac
import os
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from botocore.auth import SIGV4_TIMESTAMP, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

SIGNATURE = "X-Amz-Signature"


def refusal(environ: dict[str, Any]) -> str | None:
    """Why S3 would refuse this presigned request; None when it is not presigned or valid."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
    url = urlsplit(raw)
    params = parse_qsl(url.query, keep_blank_values=True)
    found = dict(params)
    if SIGNATURE not in found:
        return None
    try:
        access_key, _day, region, service, _ = found["X-Amz-Credential"].split("/")
        signed_at = datetime.strptime(found["X-Amz-Date"], SIGV4_TIMESTAMP).replace(tzinfo=UTC)
        expires_s = int(found["X-Amz-Expires"])
    except (KeyError, ValueError):
        return "AuthorizationQueryParametersError"
    if datetime.now(UTC) > signed_at + timedelta(seconds=expires_s):
        return "AccessDenied: Request has expired"
    # The query as sent, less the signature: the signer reads it as it was encoded.
    unsigned = "&".join(p for p in url.query.split("&") if not p.startswith(SIGNATURE + "="))
    host = environ.get("HTTP_HOST", "")
    request = AWSRequest(
        method=environ["REQUEST_METHOD"],
        url=f"http://{host}{url.path}?{unsigned}",
        headers={"host": host},
    )
    request.context["timestamp"] = found["X-Amz-Date"]
    signer = S3SigV4QueryAuth(
        Credentials(access_key, os.environ.get("AWS_SECRET_ACCESS_KEY", "")),
        service,
        region,
        expires=expires_s,
    )
    expected = signer.signature(
        signer.string_to_sign(request, signer.canonical_request(request)), request
    )
    if not hmac.compare_digest(expected, found[SIGNATURE]):
        return "SignatureDoesNotMatch"
    return None
