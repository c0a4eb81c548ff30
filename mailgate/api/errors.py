"""API errors: raised by domain code, turned into the error shape of the API contract at the
edge: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

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


def error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


# Bodies of the gateway's own answers (API Gateway responses in AWS; the local server alike).
UNAUTHORIZED_MESSAGE = "Send a valid API key as 'Authorization: Bearer <key>'."
FORBIDDEN_MESSAGE = "This API key does not have the scope this request needs."
