"""The API resolver maps every bad request to the error shape with a sentence, and every
unexpected error to 500 with the request id that its log line also holds."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter
from pydantic import BaseModel, ConfigDict

from local.lambda_context import LocalContext
from mailgate.api.request_body import MAX_DEPTH
from mailgate.api.resolver import UNNAMED_KEY, Caller, build_resolver, caller_of

EVENTS = Path(__file__).resolve().parents[1] / "fixtures" / "events"
REQUEST_ID = json.loads((EVENTS / "list_exports.json").read_text())["requestContext"]["requestId"]


class Echo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = 10
    nested: Any = None


router = APIGatewayRouter()


@router.post("/v1/echo")
def echo(request: Annotated[Echo, Body()]) -> Echo:
    return request


@router.put("/v1/echo/list")
def echo_list(items: Annotated[list[int], Body()]) -> list[int]:
    return items


@router.get("/v1/fail")
def fail() -> dict[str, str]:
    raise RuntimeError("a bug")


app = build_resolver(router)


def call(
    method: str,
    path: str,
    body: str | bytes | None = None,
    content_type: str | None = "application/json",
) -> tuple[int, dict[str, Any]]:
    event = json.loads((EVENTS / "list_exports.json").read_text())
    event.update(httpMethod=method, path=path, resource=path)
    event["headers"] = {"Content-Type": content_type} if content_type else {}
    if isinstance(body, bytes):
        event.update(body=base64.b64encode(body).decode(), isBase64Encoded=True)
    else:
        event["body"] = body
    response = app.resolve(event, LocalContext(function_name="test"))
    return response["statusCode"], json.loads(response["body"])


def error_of(response: tuple[int, dict[str, Any]]) -> tuple[int, str, str]:
    status, body = response
    assert set(body) == {"error"}, body
    message = body["error"]["message"]
    assert message.endswith("."), message
    return status, body["error"]["code"], message


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("[" * 10_000 + "]" * 10_000, "nested too deeply"),
        ('{"a":' * 10_000 + "1" + "}" * 10_000, "nested too deeply"),
        ('{"nested": ' + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "}", "levels deep"),
        ('{"limit": ' + "9" * 5000 + "}", "too many digits"),
        ('{"limit": ', "not valid JSON"),
        ("", "needs a JSON body"),
        ("null", "needs a JSON body"),
        ("[]", "must be a JSON object"),
        ('"text"', "must be a JSON object"),
        ('{"limit": "ten"}', "limit:"),
        ('{"limit": null}', "limit:"),
        ('{"other": 1}', "Unknown field 'other'"),
    ],
)
def test_bad_json_is_400_with_a_sentence(body: str, said: str) -> None:
    status, code, message = error_of(call("POST", "/v1/echo", body))

    assert (status, code) == (400, "invalid_request")
    assert said in message


def test_a_body_that_is_not_utf8_is_400() -> None:
    status, code, message = error_of(call("POST", "/v1/echo", b'{"nested": "\xff\xfe"}'))

    assert (status, code) == (400, "invalid_request")
    assert "UTF-8" in message


def test_an_object_where_a_list_is_expected_is_400() -> None:
    status, _code, message = error_of(call("PUT", "/v1/echo/list", "{}"))

    assert status == 400
    assert "must be a JSON array" in message


@pytest.mark.parametrize(
    "content_type", ["application/x-www-form-urlencoded", "text/plain", None, "APPLICATION/JSON"]
)
def test_a_json_body_is_read_as_json_whatever_its_content_type(content_type: str | None) -> None:
    # curl -d sends application/x-www-form-urlencoded
    assert call("POST", "/v1/echo", '{"limit": 3}', content_type) == (
        200,
        {"limit": 3, "nested": None},
    )
    assert call("PUT", "/v1/echo/list", " [1, 2]", content_type) == (200, [1, 2])


def test_a_body_that_is_not_json_under_another_content_type_is_415() -> None:
    response = call("POST", "/v1/echo", "limit=3", "application/x-www-form-urlencoded")

    status, code, message = error_of(response)
    assert (status, code) == (415, "unsupported_media_type")
    assert "Content-Type: application/json" in message


def test_an_unexpected_error_is_500_with_the_request_id_of_its_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    status, code, message = error_of(call("GET", "/v1/fail"))

    assert (status, code) == (500, "internal_error")
    assert REQUEST_ID in message
    [record] = [r for r in caplog.records if getattr(r, "request_id", None) == REQUEST_ID]
    assert record.levelname == "ERROR"
    assert record.exc_info is not None and str(record.exc_info[1]) == "a bug"


def test_caller_names_the_api_key_or_says_it_has_no_name() -> None:
    router = APIGatewayRouter()
    seen: list[Caller] = []

    @router.get("/who")
    def who() -> dict[str, str]:
        seen.append(caller_of(router, "logs:read"))
        return {}

    app = build_resolver(router)
    for context in (
        {"tenant_id": "t1", "scopes": "logs:read", "key_name": "ops"},
        {"tenant_id": "t1", "scopes": "logs:read"},  # cached before keys' names were passed on
    ):
        event = {"httpMethod": "GET", "path": "/who", "requestContext": {"authorizer": context}}
        assert app.resolve(event, LocalContext(function_name="query"))["statusCode"] == 200

    assert seen == [Caller("t1", "ops"), Caller("t1", UNNAMED_KEY)]
