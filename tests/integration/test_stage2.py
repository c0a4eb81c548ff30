"""Stage 2 end to end: rules written through the API, messages through real SMTP, and what an
admin then sees — statuses, evaluated policies, policy events, the quarantine, the message the
tenant's server receives."""

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
SENDER = "alice@sender.test"
NOTICE = "From %SENDER% to %RCPTS%: %SUBJECT%"


def tenant(gateway: Gateway, peer: ScriptedServer) -> tuple[ApiClient, str]:
    name = f"s2-{uuid.uuid4().hex[:8]}"
    return gateway.add_tenant(name, f"{name}.test", peer), f"{name}.test"


def add_rule(api: ApiClient, rule: dict[str, Any], direction: str = "inbound") -> dict[str, Any]:
    status, body = api.request("POST", f"/v1/policies/{direction}/rules", rule)
    assert status == 200, body
    return dict(body["rule"])


def content_rule(name: str, subject_word: str, **actions: Any) -> dict[str, Any]:
    return {
        "name": name,
        "category": "content",
        "conditions": [{"type": "subject_keywords", "keywords": {"values": [subject_word]}}],
        "actions": actions,
    }


def mail(to: str, subject: str, attachment: tuple[str, bytes] | None = None) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice <{SENDER}>"
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = f"<{uuid.uuid4()}@sender.test>"
    message.set_content("Hello, this is the body.\n")
    if attachment:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="octet-stream", filename=name)
    return message.as_bytes(policy=SMTP)


def deliver(gateway: Gateway, to: str, raw: bytes) -> str:
    code, reply = send(gateway, SENDER, [to], raw)
    assert code == 250, reply
    (message_uuid,) = queued_uuids(reply)
    return message_uuid


def policies(api: ApiClient, message_uuid: str, recipient: str) -> list[dict[str, str]]:
    status, detail = api.detail(message_uuid, recipient)
    assert status == 200, detail
    return list(detail["processing"]["evaluated_policies"])


def test_a_quarantined_message_is_searchable_and_a_release_delivers_it_once(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    add_rule(api, content_rule("Hold invoices", "invoice", intercept={"action": "quarantine"}))
    add_rule(api, content_rule("Tag invoices", "invoice", tag_subject="[checked]"))
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, mail(to, "Your invoice"))

    row = final_row(gateway, message_uuid, to, api)
    assert row["status"] == Status.QUARANTINED
    assert peer.received == []
    evaluated = policies(api, message_uuid, to)
    assert {"rule": "Hold invoices", "result": "quarantine"} in evaluated
    assert all(entry["rule"] != "Tag invoices" for entry in evaluated)

    status, events = api.request(
        "POST", "/v1/events/search", {"period": "1h", "rule_names": ["Hold invoices"]}
    )
    assert status == 200, events
    (event,) = [e for e in events["items"] if e["message_uuid"] == message_uuid]
    assert (event["threat_type"], event["action"]) == ("content", "quarantine")
    status, held = api.request("POST", "/v1/quarantine/search", {"period": "1h"})
    assert status == 200 and [e["message_uuid"] for e in held["items"]] == [message_uuid]

    status, released = api.request(
        "POST", "/v1/quarantine/release", {"message_uuids": [message_uuid]}
    )
    assert status == 200, released
    again = api.request("POST", "/v1/quarantine/release", {"message_uuids": [message_uuid]})
    assert again[0] == 200

    wait_for(lambda: (api.row(message_uuid, to) or {}).get("status") == Status.DELIVERED)
    wait_for(lambda: peer.received)
    (received,) = peer.received
    assert message_from_bytes(received.data, policy=default)["Subject"] == "[checked] Your invoice"
    status, detail = api.detail(message_uuid, to)
    assert any("by administrator" in e["detail"] for e in detail["events"])
    assert {"rule": "Tag invoices", "result": "none"} in detail["processing"]["evaluated_policies"]


@pytest.mark.parametrize(
    "subject",
    # Also with a zero-width space and a soft hyphen inside, and with a Cyrillic "o": the
    # reader sees "lottery".
    ["You won the lottery", "You won the lot\u200bte\u00adry", "You won the l\u043ettery"],
)
def test_delete_ends_the_message_and_nothing_is_delivered(
    gateway: Gateway, peer: ScriptedServer, subject: str
) -> None:
    api, domain = tenant(gateway, peer)
    add_rule(api, content_rule("Drop lottery", "lottery", intercept={"action": "delete"}))
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, mail(to, subject))
    assert final_row(gateway, message_uuid, to, api)["status"] == Status.DELETED
    assert peer.received == []


def test_strip_stamp_and_bcc_reach_the_delivered_message(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    add_rule(
        api,
        {
            "name": "No executables",
            "category": "content",
            "conditions": [{"type": "attachment_true_type", "extensions": ["exe"]}],
            "actions": {
                "strip_attachments": True,
                "stamp": "An attachment was removed.",
                "bcc": [f"security@{domain}"],
            },
        },
    )
    to = f"bob@{domain}"
    program = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 200
    message_uuid = deliver(gateway, to, mail(to, "Tool", ("readme.txt", program)))
    assert final_row(gateway, message_uuid, to, api)["status"] == Status.DELIVERED
    wait_for(lambda: len(peer.received) == 2)
    by_rcpt = {r.rcpt_tos[0]: r for r in peer.received}
    delivered = message_from_bytes(by_rcpt[to].data, policy=default)
    assert not any(part.get_filename() == "readme.txt" for part in delivered.iter_attachments())
    assert b"An attachment was removed." in by_rcpt[to].data
    assert f"security@{domain}" in by_rcpt
    _, detail = api.detail(message_uuid, to)
    (attachment,) = detail["attachments"]
    assert (attachment["name"], attachment["status"]) == ("readme.txt", "deleted")


def test_change_recipient_redirects_and_the_new_recipient_is_tracked(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    audit = f"audit@{domain}"
    add_rule(
        api,
        content_rule(
            "Redirect payroll",
            "payroll",
            intercept={"action": "change_recipient", "recipients": [audit]},
        ),
    )
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, mail(to, "payroll data"))
    assert final_row(gateway, message_uuid, to, api)["status"] == Status.REDIRECTED
    assert final_row(gateway, message_uuid, audit, api)["status"] == Status.DELIVERED
    wait_for(lambda: peer.received)
    assert peer.received[0].rcpt_tos == [audit]


def test_deliver_now_goes_to_the_named_server_and_skips_later_rules(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    other = ScriptedServer().start()
    server = {"host": "127.0.0.1", "port": other.port}
    try:
        add_rule(
            api,
            content_rule(
                "Urgent",
                "urgent",
                intercept={"action": "deliver_now", "server": server},
            ),
        )
        add_rule(api, content_rule("Hold urgent", "urgent", intercept={"action": "quarantine"}))
        to = f"bob@{domain}"
        message_uuid = deliver(gateway, to, mail(to, "urgent: call me"))
        assert final_row(gateway, message_uuid, to, api)["status"] == Status.DELIVERED
        wait_for(lambda: other.received)
        assert peer.received == []
    finally:
        other.stop()


def test_a_notification_is_sent_with_the_tokens_replaced_and_tracked(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    admin = f"admin@{domain}"
    add_rule(
        api,
        content_rule(
            "Watch contracts",
            "contract",
            notify=[
                {
                    "to": [admin],
                    "subject": "%RULENAME% matched",
                    "body": "From %SENDER% to %RCPTS%: %SUBJECT%",
                }
            ],
        ),
    )
    to = f"bob@{domain}"
    deliver(gateway, to, mail(to, "contract draft"))
    wait_for(lambda: len(peer.received) == 2)
    (notice,) = [r for r in peer.received if r.rcpt_tos == [admin]]
    parsed = message_from_bytes(notice.data, policy=default)
    assert parsed["Subject"] == "Watch contracts matched"
    assert f"From {SENDER} to {to}: contract draft" in parsed.get_content()
    status, page = api.search(period="1h", recipients=[admin])
    assert status == 200 and page["items"][0]["status"] in ("delivered", "processing")


def test_rules_are_per_tenant(gateway: Gateway, peer: ScriptedServer) -> None:
    api, _ = tenant(gateway, peer)
    other, _ = tenant(gateway, peer)
    rule = add_rule(api, content_rule("Mine", "x", intercept={"action": "delete"}))
    status, body = other.request("DELETE", f"/v1/policies/inbound/rules/{rule['id']}")
    assert (status, body["error"]["code"]) == (404, "rule_not_found")
    status, listing = other.request("GET", "/v1/policies/inbound")
    assert status == 200 and "Mine" not in [r["name"] for r in listing["rules"]]


def test_the_global_outbound_rule_answers_403(gateway: Gateway, peer: ScriptedServer) -> None:
    api, _ = tenant(gateway, peer)
    status, listing = api.request("GET", "/v1/policies/outbound")
    (fixed,) = [r for r in listing["rules"] if not r["editable"]]
    status, body = api.request("DELETE", f"/v1/policies/outbound/rules/{fixed['id']}")
    assert (status, body["error"]["code"]) == (403, "rule_not_editable")


def test_a_message_past_the_parsers_bounds_is_delivered_with_an_exclusion_event(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    # Only the parser's bound is looked at here (rspamd rightly scores this structure as spam).
    status, body = api.request("PUT", "/v1/config/sender_filter", {"approved_senders": [SENDER]})
    assert status == 200, body
    to = f"bob@{domain}"
    depth = 2000
    body = "".join(
        f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n' for i in range(depth)
    )
    raw = (
        f"From: {SENDER}\r\nTo: {to}\r\nSubject: deep\r\nMIME-Version: 1.0\r\n" + body + "x\r\n"
    ).encode()
    message_uuid = deliver(gateway, to, raw)
    assert final_row(gateway, message_uuid, to, api)["status"] == Status.DELIVERED
    _, events = api.request("POST", "/v1/events/search", {"period": "1h"})
    mine = [e for e in events["items"] if e["message_uuid"] == message_uuid]
    assert [(e["threat_type"], e["subtype"]) for e in mine] == [
        ("scan_exclusion", "other_exclusion")
    ]
