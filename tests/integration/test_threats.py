"""Graymail, phishing, web reputation and BEC end to end: settings and rules through the API,
messages through real SMTP, URL block lists served by the loopback DNS zone, and what the
admin then sees in tracking and policy events."""

from __future__ import annotations

from typing import Any

import pytest

from mailgate.catalog import Status
from tests.integration.conftest import LISTED_URL_DOMAINS, Gateway
from tests.integration.test_pipeline import final_row
from tests.integration.test_stage2 import SENDER, add_rule, deliver, policies, tenant
from tests.support.api_client import ApiClient
from tests.support.fixtures import eml
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def threat_rule(name: str, threat: str, action: str, **condition: Any) -> dict[str, Any]:
    return {
        "name": name,
        "category": "spam",
        "conditions": [{"type": "threat", "threat": threat, **condition}],
        "actions": {"intercept": {"action": action}},
    }


def events_of(api: ApiClient, message_uuid: str) -> list[dict[str, Any]]:
    status, events = api.request("POST", "/v1/events/search", {"period": "1h"})
    assert status == 200, events
    return [e for e in events["items"] if e["message_uuid"] == message_uuid]


def url_of(api: ApiClient, event: dict[str, Any]) -> str:
    status, detail = api.request("GET", f"/v1/events/{event['event_id']}")
    assert status == 200, detail
    return str(detail["violating_url"])


def readdressed(fixture: str, to: str) -> bytes:
    return eml(fixture).replace(b"bob@northwind.example", to.encode())


def test_graymail_categories_are_chosen_per_rule(gateway: Gateway, peer: ScriptedServer) -> None:
    api, domain = tenant(gateway, peer)
    rule = threat_rule("Newsletters", "graymail", "quarantine", subtypes=["marketing", "forum"])
    add_rule(api, rule)
    to = f"bob@{domain}"
    marketing = deliver(gateway, to, readdressed("graymail-marketing", to))
    social = deliver(gateway, to, readdressed("graymail-social", to))
    personal = deliver(gateway, to, readdressed("graymail-near-miss-personal", to))
    assert final_row(gateway, marketing, to, api)["status"] == Status.QUARANTINED
    (event,) = events_of(api, marketing)
    assert (event["threat_type"], event["subtype"]) == ("graymail", "marketing")
    for other in (social, personal):
        assert final_row(gateway, other, to, api)["status"] == Status.DELIVERED
        assert {"rule": "Newsletters", "result": "no_match"} in policies(api, other, to)


def test_a_link_on_a_dns_block_list_is_caught_with_its_url(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    add_rule(api, threat_rule("Phishing", "phishing", "delete"))
    add_rule(api, threat_rule("Bad sites", "web_reputation", "quarantine"))
    to = f"bob@{domain}"
    phishing_host = LISTED_URL_DOMAINS["phishing"]
    body = f"Sign in at hxxps://login.{phishing_host.replace('.', '[.]')}/owa now."
    raw = (
        f"From: Support <{SENDER}>\r\nTo: {to}\r\nSubject: Mailbox full\r\n\r\n{body}\r\n"
    ).encode()
    phished = deliver(gateway, to, raw)
    assert final_row(gateway, phished, to, api)["status"] == Status.DELETED
    (event,) = events_of(api, phished)
    assert (event["threat_type"], event["action"]) == ("phishing", "delete")
    assert url_of(api, event) == f"https://login.{phishing_host}/owa"

    malware_host = LISTED_URL_DOMAINS["web_reputation"]
    raw = raw.replace(body.encode(), f"Get it from http://{malware_host}/setup.exe".encode())
    dropped = deliver(gateway, to, raw)
    assert final_row(gateway, dropped, to, api)["status"] == Status.QUARANTINED
    (event,) = events_of(api, dropped)
    assert event["threat_type"] == "web_reputation"
    assert url_of(api, event) == f"http://{malware_host}/setup.exe"
    clean = deliver(gateway, to, readdressed("phishing-near-miss-newsletter", to))
    assert final_row(gateway, clean, to, api)["status"] == Status.DELIVERED


def test_a_listed_link_written_right_against_japanese_text_is_caught(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    add_rule(api, threat_rule("Phishing", "phishing", "delete"))
    to = f"bob@{domain}"
    phishing_host = LISTED_URL_DOMAINS["phishing"]
    body = f"パスワードの期限が切れます。詳細はhttps://login.{phishing_host}/owaをご確認ください。"
    raw = (
        f"From: Support <{SENDER}>\r\nTo: {to}\r\nSubject: =?UTF-8?B?6YCa55+l?=\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Transfer-Encoding: 8bit\r\n\r\n{body}\r\n"
    ).encode()
    phished = deliver(gateway, to, raw)
    assert final_row(gateway, phished, to, api)["status"] == Status.DELETED
    (event,) = events_of(api, phished)
    assert url_of(api, event) == f"https://login.{phishing_host}/owa"


def test_tenant_block_list_and_executives_come_from_the_config_api(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    settings = {
        "blocked_urls": ["shop.example"],
        "executives": [{"name": "Taro Yamada", "addresses": [f"taro@{domain}"]}],
    }
    status, body = api.request("PUT", "/v1/config/threat_protection", settings)
    assert status == 200, body
    assert body["config"]["threat_protection"]["blocked_urls"] == ["shop.example"]
    status, body = api.request(
        "PUT", "/v1/config/threat_protection", {"blocked_urls": ["ftp://x.example"]}
    )
    assert status == 400 and "http" in str(body)

    add_rule(api, threat_rule("Blocked sites", "web_reputation", "quarantine"))
    add_rule(api, threat_rule("BEC", "bec", "quarantine", methods=["antispam_engine"]))
    to = f"bob@{domain}"
    blocked = deliver(gateway, to, readdressed("phishing-near-miss-newsletter", to))
    assert final_row(gateway, blocked, to, api)["status"] == Status.QUARANTINED
    impostor = deliver(gateway, to, readdressed("bec-executive", to))
    assert final_row(gateway, impostor, to, api)["status"] == Status.QUARANTINED
    (event,) = events_of(api, impostor)
    assert (event["threat_type"], event["detection_method"]) == ("bec", "antispam_engine")
    # Only the probable signs (a Reply-To to free mail): this rule wants the sure ones.
    diverted = deliver(
        gateway,
        to,
        readdressed("bec-near-miss", to).replace(
            b"orders@northwest.example", b"orders.northwest@gmail.com"
        ),
    )
    assert final_row(gateway, diverted, to, api)["status"] == Status.DELIVERED
