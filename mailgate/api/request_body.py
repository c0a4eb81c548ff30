"""What the tenant API accepts as a request body: JSON text in UTF-8, nested a few levels.

Every body is read as JSON, whatever its ``Content-Type`` says, as long as it looks like JSON
(it starts with ``{`` or ``[``): ``curl -d`` sends ``application/x-www-form-urlencoded``, and a
tenant admin who typed a JSON object expects it to be read as one. Any other body under
another content type is refused with 415.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from typing import Any

from mailgate.api.errors import BadRequest, UnsupportedMediaType

JSON = "application/json"
# Deeper than any request of the API (a configuration is 5 levels deep); the bound keeps every
# walk over a parsed body, recursive or not, far from Python's recursion limit.
MAX_DEPTH = 32


def json_request(event: Mapping[str, Any]) -> dict[str, Any]:
    """``event`` with its body as text and its content type JSON; raises an ``ApiError`` for
    a body that is not UTF-8, or that is not JSON under another content type."""
    headers = {name.lower(): value for name, value in (event.get("headers") or {}).items()}
    text = _text(event.get("body"), bool(event.get("isBase64Encoded")))
    content_type = str(headers.get("content-type", "")).strip().lower()
    if text.strip() and not content_type.startswith(JSON) and text.lstrip()[0] not in "{[":
        raise UnsupportedMediaType(
            "unsupported_media_type",
            f"The request body must be JSON, sent with Content-Type: {JSON}.",
        )
    headers["content-type"] = JSON
    return {**event, "headers": headers, "body": text or None, "isBase64Encoded": False}


def _text(body: str | None, base64_encoded: bool) -> str:
    if not body:
        return ""
    if not base64_encoded:
        return body
    try:
        return base64.b64decode(body, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise BadRequest(
            "invalid_request", "The request body must be JSON text encoded in UTF-8."
        ) from error


def loads(text: str) -> Any:
    """``json.loads``, raising ``json.JSONDecodeError`` for every document it refuses: one nested
    deeper than ``MAX_DEPTH``, or one with a number too long to convert."""
    try:
        value = json.loads(text)
    except RecursionError as error:
        raise _refused("it is nested too deeply", text) from error
    except json.JSONDecodeError:
        raise
    except ValueError as error:  # an integer of more than 4300 digits
        raise _refused("a number in it has too many digits", text) from error
    if _depth(value) > MAX_DEPTH:
        raise _refused(f"it is nested more than {MAX_DEPTH} levels deep", text)
    return value


def _refused(reason: str, text: str) -> json.JSONDecodeError:
    return json.JSONDecodeError(reason, text, 0)


def _depth(value: Any) -> int:
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            item = list(item.values())
        if isinstance(item, list):
            deepest = max(deepest, depth)
            stack.extend((child, depth + 1) for child in item)
    return deepest
