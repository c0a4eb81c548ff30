"""The local API server answers as API Gateway does, also when a function fails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from local import openapi as openapi_writer
from local.api_server import LocalApi
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient
from tests.support.ports import free_port
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def test_exports_are_listed_after_the_openapi_document_included_their_router(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant, and the export router included since in the OpenAPI document's resolver
    api = gateway.add_tenant("lister-api", "lister-api.test", peer)
    openapi_writer.document()

    # When the tenant lists its export tasks
    status, body = api.request("GET", "/v1/exports")

    # Then the export function answers from its own store
    assert (status, body) == (200, {"tasks": []})


def _allow(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "principalId": "tenant-a",
        "policyDocument": {"Statement": [{"Effect": "Allow"}]},
        "context": {"tenant_id": "tenant-a", "scopes": "logs:read logs:export config:write"},
    }


def _raises(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the function failed")


def _malformed(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"body": "no status code"}


@pytest.fixture
def failing_api() -> Iterator[ApiClient]:
    port = free_port()
    api = LocalApi(
        "127.0.0.1",
        port,
        "us-east-1",
        authorizer=_allow,
        functions={"query": _raises, "export": _malformed},
    )
    api.start()
    yield ApiClient(f"http://127.0.0.1:{port}", "any-key")
    api.stop()


@pytest.mark.parametrize(
    "path", ["/v1/config", "/v1/exports"], ids=["function raises", "malformed response"]
)
def test_a_function_without_an_answer_is_502_in_the_error_shape(
    failing_api: ApiClient, path: str
) -> None:
    status, body = failing_api.request("GET", path)

    assert status == 502
    assert body["error"]["code"] == "gateway_error"
    assert body["error"]["message"].endswith(".")
