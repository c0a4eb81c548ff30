"""Saved tracking searches and the last searches, through the API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

import pytest

from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

QUERIES = "/v1/tracking/queries"


def save(api: ApiClient, name: str, body: Any) -> tuple[int, Any]:
    return api.request("POST", QUERIES, {"name": name, "body": body})


def delete(api: ApiClient, name: str) -> tuple[int, Any]:
    return api.request("DELETE", f"{QUERIES}?name={quote(name)}")


def listing(api: ApiClient) -> dict[str, Any]:
    status, body = api.request("GET", QUERIES)
    assert status == 200, body
    return dict(body)


def test_a_saved_query_round_trip(gateway: Gateway, peer: ScriptedServer) -> None:
    api = gateway.add_tenant("saver", "saver.test", peer)
    tokyo = timezone(timedelta(hours=9))
    end = datetime.now(tokyo).replace(microsecond=0)
    period = {"start": (end - timedelta(days=2)).isoformat(), "end": end.isoformat()}
    body = {
        "direction": "outbound",
        "period": period,
        "senders": ["*@saver.test"],
        "attachment_name": "*.zip",
        "cursor": "not kept",
    }

    status, answer = save(api, "Zips from us", body)

    assert status == 200, answer
    [saved] = answer["saved"]
    assert saved["name"] == "Zips from us"
    assert saved["body"] == {  # the cursor is dropped; the custom period stays absolute
        "direction": "outbound",
        "period": period,
        "senders": ["*@saver.test"],
        "attachment_name": "*.zip",
    }
    assert listing(api)["saved"] == [saved]
    # The stored body is a search the API takes as it is.
    status, page = api.search(**saved["body"])
    assert status == 200, page

    status, answer = delete(api, "ZIPS FROM US")  # names are matched whatever their case
    assert (status, answer["saved"]) == (200, [])
    assert delete(api, "Zips from us")[0] == 404


def test_names_are_unique_and_bodies_are_validated_like_a_search(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api = gateway.add_tenant("namer", "namer.test", peer)
    assert save(api, "Bounces", {"statuses": ["bounced"]})[0] == 200

    status, answer = save(api, "bounces", {"period": "7d"})
    assert (status, answer["error"]["code"]) == (409, "query_name_taken")
    for name, body in [
        ("Blocked subject", {"type": "blocked", "subject": "x"}),
        ("Bad period", {"period": "2d"}),
        ("Unknown field", {"senderz": ["a@b.test"]}),
        ("", {}),
        ("   ", {}),
        ("two\nlines", {}),
        ("x" * 101, {}),
    ]:
        status, answer = save(api, name, body)
        assert (status, answer["error"]["code"]) == (400, "invalid_request"), (name, answer)
        assert answer["error"]["message"].endswith(".")
    status, answer = save(api, "Huge", {"senders": [f"{n:0>300}@example.com" for n in range(60)]})
    assert (status, answer["error"]["code"]) == (400, "query_too_large")
    assert [q["name"] for q in listing(api)["saved"]] == ["Bounces"]


def test_another_tenants_queries_are_invisible(gateway: Gateway, peer: ScriptedServer) -> None:
    mine = gateway.add_tenant("keeper", "keeper.test", peer)
    theirs = gateway.add_tenant("snooper", "snooper.test", peer)
    assert save(mine, "Private", {"subject": "merger"})[0] == 200
    mine.search(period="1h", subject="acquisition")

    seen = listing(theirs)

    assert seen["saved"] == []
    assert all(q["body"].get("subject") != "acquisition" for q in seen["recent"])
    assert delete(theirs, "Private")[0] == 404
    assert [q["name"] for q in listing(mine)["saved"]] == ["Private"]
    # The same name is free for another tenant.
    assert save(theirs, "Private", {})[0] == 200


def test_the_101st_saved_query_is_refused(gateway: Gateway, peer: ScriptedServer) -> None:
    api = gateway.add_tenant("hoarder", "hoarder.test", peer)
    for n in range(100):
        status, answer = save(api, f"query {n:03d}", {"subject": f"report {n}"})
        assert status == 200, answer

    status, answer = save(api, "one too many", {})

    assert (status, answer["error"]["code"]) == (409, "too_many_saved_queries")
    assert len(listing(api)["saved"]) == 100
    assert delete(api, "query 042")[0] == 200
    assert save(api, "one too many", {})[0] == 200  # deleting one makes room for one


def test_the_last_ten_searches_are_kept_newest_first(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api = gateway.add_tenant("searcher", "searcher.test", peer)
    for n in range(12):
        assert api.search(period="1h", subject=f"word{n}")[0] == 200
    assert api.search(period="1h", subject="word5")[0] == 200  # again: moves to the top
    assert api.search(period="1h", limit=0)[0] == 400  # refused: not a search that ran

    recent = listing(api)["recent"]

    assert [q["body"]["subject"] for q in recent] == [
        "word5",
        *(f"word{n}" for n in (11, 10, 9, 8, 7, 6, 4, 3, 2)),
    ]
    assert recent[0]["body"] == {"period": "1h", "subject": "word5"}
    assert listing(api)["saved"] == []


def test_reading_and_saving_need_the_logs_read_scope(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api = gateway.add_tenant("exporter-q", "exporter-q.test", peer, scopes=["logs:export"])
    assert api.request("GET", QUERIES)[0] == 403
    assert save(api, "x", {})[0] == 403
    assert delete(api, "x")[0] == 403
    assert gateway.client(None).request("GET", QUERIES)[0] == 401
