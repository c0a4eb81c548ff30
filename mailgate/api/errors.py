"""API errors: raised by domain code, turned into the error shape of the API contract at the
edge: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class ApiError(Exception):
    status = 400

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def body(self) -> dict[str, Any]:
        return error_body(self.code, self.message)


class BadRequest(ApiError):
    status = 400


class Unauthorized(ApiError):
    status = 401


class Forbidden(ApiError):
    status = 403


class NotFound(ApiError):
    status = 404


class Conflict(ApiError):
    """The request is valid but clashes with the current state (a version, another tenant)."""

    status = 409


class PayloadTooLarge(ApiError):
    status = 413


class TooManyRequests(ApiError):
    """A quota is used up."""

    status = 429


class UnsupportedMediaType(ApiError):
    status = 415


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def field_path(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a person writes it: ``domains[0].inbound_servers[1].port``
    (dictionary-key markers are left out; the message says what is wrong with the key)."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part != "[key]":
            path += f".{part}" if path else part
    return path


def validation_sentence(loc: Sequence[int | str], kind: str, message: str) -> str:
    """One sentence for one pydantic error: the field path, then the problem."""
    path = field_path(loc)
    if kind == "extra_forbidden":
        return f"Unknown field '{path}'."
    text = message.removeprefix("Value error, ").rstrip(".")
    return f"{path}: {text}." if path else f"{text}."


# Bodies of the gateway's own answers (API Gateway responses in AWS; the local server alike).
UNAUTHORIZED_MESSAGE = "Send a valid API key as 'Authorization: Bearer <key>'."
FORBIDDEN_MESSAGE = "This API key does not have the scope this request needs."
SUSPENDED_MESSAGE = "This tenant is suspended: its API keys are refused until it is resumed."
MAX_REQUEST_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit
TOO_LARGE_MESSAGE = "The request is over 10 MB, the largest the API accepts."
GATEWAY_ERROR_MESSAGE = "The API could not answer this request; try again later."


def internal_error_message(request_id: str) -> str:
    return f"The request failed on our side; if it keeps failing, report request id {request_id}."
