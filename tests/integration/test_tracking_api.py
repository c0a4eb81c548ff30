"""The tracking API through the local API Gateway stand-in: auth, validation, paging."""

from __future__ import annotations

import base64
import smtplib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.integration.conftest import Gateway
from tests.support.api_client import wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def send_batch(gateway: Gateway, count: int, tag: str) -> None:
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        for n in range(count):
            refused = smtp.sendmail(
                "pager@sender.test", [f"page-{tag}@example.com"], f"Subject: page {tag} {n}\r\n\r\n"
            )
            assert refused == {}


def pages(api: Any, **query: Any) -> list[list[dict[str, Any]]]:
    result, cursor = [], None
    while True:
        status, page = api.search(**query, cursor=cursor)
        assert status == 200, page
        result.append(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return result


def error_code(response: tuple[int, Any]) -> tuple[int, str]:
    status, body = response
    assert set(body) == {"error"} and body["error"]["message"], body
    return status, body["error"]["code"]


def test_missing_or_wrong_key_is_401(gateway: Gateway) -> None:
    assert error_code(gateway.client(None).search(period="1h")) == (401, "unauthorized")
    assert error_code(gateway.client("nope").search(period="1h")) == (401, "unauthorized")
    assert error_code(gateway.client("x" * 5000).search(period="1h")) == (401, "unauthorized")


def test_key_without_the_scope_is_403(gateway: Gateway, peer: ScriptedServer) -> None:
    api = gateway.add_tenant("exporter", "exporter.test", peer, scopes=["logs:export"])
    assert error_code(api.search(period="1h")) == (403, "forbidden")


@pytest.mark.parametrize(
    "query",
    [
        {"limit": 0},
        {"limit": 1001},
        {"limit": "ten"},
        {"direction": "sideways"},
        {"type": "rejected"},
        {"period": "2d"},
        {"sort": "random"},
        {"senderz": ["a@b.c"]},
        {"period": {"start": "2026-01-01T00:00:00"}},
        {"period": {"start": "yesterday", "end": "today"}},
    ],
)
def test_bad_search_input_is_400_with_a_sentence(gateway: Gateway, query: dict[str, Any]) -> None:
    status, code = error_code(gateway.api.search(**query))
    assert (status, code) == (400, "invalid_request")


def test_custom_period_rules(gateway: Gateway) -> None:
    now = datetime.now(UTC)

    def period(start: datetime, end: datetime) -> dict[str, str]:
        return {"start": start.isoformat(), "end": end.isoformat()}

    over_60 = period(now - timedelta(days=61), now)
    assert error_code(gateway.api.search(period=over_60)) == (400, "period_too_long")
    too_old = period(now - timedelta(days=95), now - timedelta(days=80))
    assert error_code(gateway.api.search(period=too_old)) == (400, "period_out_of_retention")
    backwards = period(now, now - timedelta(hours=1))
    assert error_code(gateway.api.search(period=backwards)) == (400, "invalid_period")
    exactly_60 = period(now - timedelta(days=60), now)
    assert gateway.api.search(period=exactly_60)[0] == 200


def test_body_that_is_not_a_json_object_is_400(gateway: Gateway) -> None:
    for raw in (b"not json", b"[1, 2]", b'"text"'):
        status, body = gateway.api.request("POST", "/v1/tracking/search", raw=raw)
        assert status == 400, body
        assert body["error"]["code"] == "invalid_request"


def test_paging_returns_every_row_once_in_order(gateway: Gateway) -> None:
    tag = uuid.uuid4().hex[:8]
    recipient = f"page-{tag}@example.com"
    send_batch(gateway, 5, tag)

    def all_rows() -> list[dict[str, Any]]:
        _status, page = gateway.api.search(period="1h", limit=1000)
        return [i for i in page["items"] if i["recipient"] == recipient]

    wait_for(lambda: len(all_rows()) == 5)
    newest_first = [item for page in pages(gateway.api, period="1h", limit=2) for item in page]
    mine = [item for item in newest_first if item["recipient"] == recipient]
    assert len(mine) == 5
    keys = [(i["time"], i["message_uuid"], i["recipient"]) for i in newest_first]
    assert len(keys) == len(set(keys)), "a row came twice"
    assert keys == sorted(keys, reverse=True)
    oldest_first = [
        item for page in pages(gateway.api, period="1h", limit=3, sort="asc") for item in page
    ]
    assert [i["message_uuid"] for i in oldest_first] == [
        i["message_uuid"] for i in reversed(newest_first)
    ]


def test_cursor_is_bound_to_tenant_and_query_and_cannot_be_forged(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    send_batch(gateway, 3, uuid.uuid4().hex[:8])
    _status, page = gateway.api.search(period="1h", limit=1)
    cursor = page["next_cursor"]
    assert cursor
    other = gateway.add_tenant("cursor-thief", "cursor-thief.test", peer)
    assert error_code(other.search(period="1h", limit=1, cursor=cursor)) == (400, "invalid_cursor")
    assert error_code(gateway.api.search(period="24h", limit=1, cursor=cursor)) == (
        400,
        "invalid_cursor",
    )
    payload, signature = cursor.split(".")
    forged = (
        base64.urlsafe_b64encode(
            base64.urlsafe_b64decode(payload + "==").replace(b'"day":0', b'"day":1')
        )
        .decode()
        .rstrip("=")
    )
    assert error_code(gateway.api.search(period="1h", cursor=f"{forged}.{signature}")) == (
        400,
        "invalid_cursor",
    )
    # the same query with another page size goes on from the cursor
    assert gateway.api.search(period="1h", limit=5, cursor=cursor)[0] == 200


def test_detail_of_unknown_or_other_tenants_message_is_404(gateway: Gateway) -> None:
    assert error_code(gateway.api.detail(str(uuid.uuid4()))) == (404, "message_not_found")
    assert error_code(gateway.api.detail("../../etc/passwd"))[0] == 404


def test_blocked_search_is_separate_from_accepted(gateway: Gateway) -> None:
    status, page = gateway.api.search(period="1h", type="blocked")
    assert status == 200
    assert all(item["type"] == "blocked" for item in page["items"])


def test_openapi_document_is_public_and_describes_the_routes(gateway: Gateway) -> None:
    status, document = gateway.client(None).request("GET", "/v1/openapi.json")
    assert status == 200
    assert document["openapi"].startswith("3.1")
    assert {"/v1/tracking/search", "/v1/tracking/{message_uuid}", "/v1/exports"} <= set(
        document["paths"]
    )
    assert "apiKey" in document["components"]["securitySchemes"]


def test_filters_narrow_the_rows_and_page_through_the_rest(gateway: Gateway) -> None:
    # Given messages with distinct recipients, subjects and Message-IDs
    tag = uuid.uuid4().hex[:8]
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        for n in range(4):
            smtp.sendmail(
                "filter@sender.test",
                [f"f{n}-{tag}@example.com"],
                f"Subject: Invoice {tag} number {n}\r\nMessage-ID: <{tag}-{n}@x>\r\n\r\nx",
            )

    def found(**query: Any) -> list[str]:
        rows = [i for page in pages(gateway.api, period="1h", limit=1, **query) for i in page]
        return sorted(i["recipient"] for i in rows)

    wait_for(lambda: len(found(recipients=[f"*-{tag}@example.com"])) == 4)
    # Then each filter keeps exactly its rows, across pages of one row
    assert found(recipients=[f"F1-{tag}@EXAMPLE.COM"]) == [f"f1-{tag}@example.com"]
    assert found(subject=f"number {tag} invoice", senders=["filter@*"]) == [
        f"f{n}-{tag}@example.com" for n in range(4)
    ]
    assert found(subject=f'"{tag} number 2"') == [f"f2-{tag}@example.com"]
    assert found(message_id=f"<{tag}-3@X>") == [f"f3-{tag}@example.com"]
    assert found(recipients=[f"*-{tag}@example.com"], sender_ip="127.0.0.") == [
        f"f{n}-{tag}@example.com" for n in range(4)
    ]
    assert found(recipients=[f"*-{tag}@example.com"], sender_ip="10.") == []
    assert found(recipients=[f"*-{tag}@example.com"], statuses=["bounced"]) == []


def test_filters_of_the_other_traffic_type_are_refused(gateway: Gateway) -> None:
    status, body = gateway.api.search(type="accepted", block_reasons=["sender_ip_qil"])
    assert status == 400 and "block_reasons" in body["error"]["message"]
    status, body = gateway.api.search(type="blocked", statuses=["delivered"])
    assert status == 400 and "statuses" in body["error"]["message"]
    status, body = gateway.api.search(type="blocked", block_reasons=["no_such_reason"])
    assert status == 400
