"""Domain-based authentication end to end: the tenant turns the rules on through the API,
mail arrives over real SMTP from loopback, and the admin sees the domain_auth events, the
quarantine, and the Authentication-Results field on what the tenant's server receives."""

from __future__ import annotations

import uuid
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import SMTP, default
from typing import Any

import pytest

from mailgate.catalog import Status
from tests.integration.conftest import Gateway
from tests.integration.test_pipeline import final_row, queued_uuids, send
from tests.support.api_client import ApiClient, wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def mail(sender: str, to: str) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = "Payment details"
    message["Message-ID"] = f"<{uuid.uuid4()}@example.test>"
    message.set_content("Please use the new account.\n")
    return message.as_bytes(policy=SMTP)


def deliver(gateway: Gateway, sender: str, to: str) -> str:
    code, reply = send(gateway, sender, [to], mail(sender, to))
    assert code == 250, reply
    (message_uuid,) = queued_uuids(reply)
    return message_uuid


def events_of(api: ApiClient, message_uuid: str) -> list[dict[str, Any]]:
    status, events = api.request("POST", "/v1/events/search", {"period": "1h"})
    assert status == 200, events
    return [e for e in events["items"] if e["message_uuid"] == message_uuid]


def test_spf_and_dmarc_rules_act_and_delivered_mail_says_what_passed(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    name = f"da-{uuid.uuid4().hex[:8]}"
    domain = f"{name}.test"
    api = gateway.add_tenant(name, domain, peer)
    settings = {
        "spf": {"enabled": True, "actions": {"fail": {"intercept": {"action": "quarantine"}}}},
        "dmarc": {"enabled": True, "actions": {"tag_subject": "[DMARC]"}},
    }
    status, body = api.request("PUT", "/v1/config/domain_auth", settings)
    assert status == 200, body
    bad = {"spf": {"enabled": True, "actions": {"maybe": {}}}}
    assert api.request("PUT", "/v1/config/domain_auth", bad)[0] == 400
    to = f"bob@{domain}"

    failing = deliver(gateway, "mallory@auth-fail.test", to)
    assert final_row(gateway, failing, to, api)["status"] == Status.QUARANTINED
    (event,) = events_of(api, failing)
    assert (event["threat_type"], event["subtype"], event["rule_name"], event["action"]) == (
        "domain_auth",
        "spf",
        "SPF (fail)",
        "quarantine",
    )
    status, detail = api.detail(failing, to)
    assert {"rule": "SPF (fail)", "result": "quarantine"} in detail["processing"][
        "evaluated_policies"
    ]

    passing = deliver(gateway, "alice@auth-pass.test", to)
    assert final_row(gateway, passing, to, api)["status"] == Status.DELIVERED
    assert events_of(api, passing) == []
    wait_for(lambda: peer.received)
    (received,) = peer.received
    delivered = message_from_bytes(received.data, policy=default)
    results = delivered["Authentication-Results"]
    assert results.startswith("mailgate.localhost;")
    assert "spf=pass smtp.mailfrom=auth-pass.test" in results
    assert "dkim=none" in results
    assert "dmarc=pass header.from=auth-pass.test" in results
    assert delivered["Subject"] == "Payment details"
