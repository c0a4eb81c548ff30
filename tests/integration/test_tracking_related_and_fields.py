"""Related messages and the header and attachment search fields, through the API: real SMTP
in, stage 2's rules, delivery and its DSNs."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime
from typing import Any

import pytest

from tests.integration.conftest import Gateway
from tests.integration.test_pipeline import final_row, queued_uuids, send
from tests.support.api_client import ApiClient, wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration
DOMAIN = "related.test"  # resolves, so its users may send to it
ZIP = b"PK\x05\x06" + b"\x00" * 18
ZIP_SHA256 = hashlib.sha256(ZIP).hexdigest()


@dataclass
class RefusingServer(ScriptedServer):
    """Refuses every recipient named gone@…, accepts the others."""

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if address.startswith("gone@"):
            return "550 5.1.1 No such user"
        return await super().handle_RCPT(server, session, envelope, address, options)


def mail(
    sender: str,
    to: list[str],
    subject: str,
    cc: list[str] | None = None,
    attachment: tuple[str, bytes] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = f"Alice Example <{sender}>"
    message["To"] = ", ".join(to)
    if cc:
        message["Cc"] = ", ".join(cc)
    message["Subject"] = subject
    message["Date"] = format_datetime(datetime.now(UTC))
    message["Message-ID"] = f"<{uuid.uuid4()}@{sender.rpartition('@')[2]}>"
    message.set_content("Hello, here is the document we talked about.\n")
    if attachment:
        name, data = attachment
        message.add_attachment(data, maintype="application", subtype="zip", filename=name)
    return message.as_bytes(policy=SMTP)


def accepted(gateway: Gateway, sender: str, recipients: list[str], raw: bytes) -> str:
    code, reply = send(gateway, sender, recipients, raw)
    assert code == 250, reply
    (message_uuid,) = queued_uuids(reply)
    return message_uuid


def related(api: ApiClient, message_uuid: str) -> list[dict[str, Any]]:
    status, body = api.request("GET", f"/v1/tracking/{message_uuid}/related")
    assert status == 200, body
    assert body["truncated"] is False
    return list(body["rows"])


@pytest.fixture
def refusing() -> Any:
    server = RefusingServer().start()
    yield server
    server.stop()


def test_related_messages_join_a_message_its_copies_notification_and_dsn(
    gateway: Gateway, refusing: RefusingServer
) -> None:
    # Given a tenant whose rule notifies an admin and copies security on contracts
    api = gateway.add_tenant("related", DOMAIN, refusing)
    status, body = api.request(
        "POST",
        "/v1/policies/inbound/rules",
        {
            "name": "Watch contracts",
            "category": "content",
            "conditions": [{"type": "subject_keywords", "keywords": {"values": ["contract"]}}],
            "actions": {
                "notify": [{"to": [f"admin@{DOMAIN}"], "subject": "matched", "body": "%SUBJECT%"}],
                "bcc": [f"security@{DOMAIN}"],
            },
        },
    )
    assert status == 200, body
    boss, bob, gone = (f"{user}@{DOMAIN}" for user in ("boss", "bob", "gone"))

    # When a contract goes to a user and to one who no longer exists (a DSN comes back),
    # and an unrelated message goes by
    original = accepted(gateway, boss, [bob, gone], mail(boss, [bob, gone], "contract draft"))
    other = accepted(gateway, boss, [bob], mail(boss, [bob], "lunch"))
    assert final_row(gateway, original, gone, api)["status"] == "bounced"
    assert final_row(gateway, other, bob, api)["status"] == "delivered"

    # Then the message's related rows are the notification, the BCC copy and the DSN …
    def three() -> list[dict[str, Any]] | None:
        rows = related(api, original)
        return rows if len(rows) == 3 else None

    rows = wait_for(three)
    by_recipient = {row["recipient"]: row for row in rows}
    assert set(by_recipient) == {f"admin@{DOMAIN}", f"security@{DOMAIN}", boss}
    assert by_recipient[boss]["sender"] == "<>"  # the DSN
    assert {row["message_uuid"] for row in rows}.isdisjoint({original, other})
    assert [row["time"] for row in rows] == sorted(row["time"] for row in rows)
    # … and from the DSN, the message it reports on is related (both its rows) with the rest.
    dsn = by_recipient[boss]["message_uuid"]
    from_dsn = {(row["message_uuid"], row["recipient"]) for row in related(api, dsn)}
    assert {(original, bob), (original, gone)} <= from_dsn
    assert (by_recipient[f"admin@{DOMAIN}"]["message_uuid"], f"admin@{DOMAIN}") in from_dsn
    assert all(message_uuid != dsn for message_uuid, _ in from_dsn)
    # An unrelated message has nothing related.
    assert related(api, other) == []


def test_related_messages_of_another_tenant_are_not_found(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api = gateway.add_tenant("related-owner", "related-owner.test", peer)
    other = gateway.add_tenant("related-other", "related-other.test", peer)
    to = "bob@related-owner.test"
    message_uuid = accepted(
        gateway, "alice@sender.test", [to], mail("alice@sender.test", [to], "x")
    )

    assert api.request("GET", f"/v1/tracking/{message_uuid}/related")[0] == 200
    for client, path in [
        (other, f"/v1/tracking/{message_uuid}/related"),
        (api, f"/v1/tracking/{uuid.uuid4()}/related"),
    ]:
        status, body = client.request("GET", path)
        assert (status, body["error"]["code"]) == (404, "message_not_found")
    assert gateway.client(None).request("GET", f"/v1/tracking/{message_uuid}/related")[0] == 401


@pytest.fixture(scope="module")
def searched(gateway: Gateway) -> Iterator[tuple[ApiClient, str, str]]:
    """A tenant with two delivered messages: one with headers From, To, Cc and a zip
    attachment, one without attachments."""
    peer = ScriptedServer().start()
    api = gateway.add_tenant("fields", "fields.test", peer)
    to, sender = "bob@fields.test", "alice@sender.test"
    with_zip = accepted(
        gateway,
        sender,
        [to],
        mail(
            sender, [to], "invoice", cc=["Carol <carol@cc.test>"], attachment=("Invoice.ZIP", ZIP)
        ),
    )
    plain = accepted(gateway, sender, [to], mail(sender, [to], "no attachment"))
    for message_uuid in (with_zip, plain):
        assert final_row(gateway, message_uuid, to, api)["status"] == "delivered"
    yield api, with_zip, plain
    peer.stop()


def found(api: ApiClient, **fields: Any) -> set[str]:
    status, page = api.search(period="1h", limit=1000, **fields)
    assert status == 200, page
    return {item["message_uuid"] for item in page["items"]}


@pytest.mark.parametrize(
    ("fields", "finds_zip", "finds_plain"),
    [
        ({"header_from": ["*@sender.test"]}, True, True),
        ({"header_from": ["ALICE@SENDER.TEST"]}, True, True),
        ({"header_from": ["*@*.sender.test"]}, False, False),
        ({"header_from": ["bob@fields.test"]}, False, False),
        ({"header_to": ["carol@cc.test"]}, True, False),  # a Cc address
        ({"header_to": ["nobody@cc.test", "bob@fields.test"]}, True, True),
        ({"header_to": ["alice@sender.test"]}, False, False),
        ({"attachments_only": True}, True, False),
        ({"attachment_sha256": ZIP_SHA256.upper()}, True, False),
        ({"attachment_sha256": "0" * 64}, False, False),
        ({"attachment_name": "*.zip"}, True, False),
        ({"attachment_name": "invoice.zip"}, True, False),
        ({"attachment_name": "*.exe"}, False, False),
        ({"attachment_status": "none"}, True, False),
        ({"attachment_status": "deleted"}, False, False),
        ({"password_analysis": "not_analyzed"}, True, False),
        ({"password_analysis": "decrypted"}, False, False),
        ({"attachment_name": "*.zip", "attachment_status": "deleted"}, False, False),
    ],
)
def test_each_header_and_attachment_field_finds_and_leaves_out(
    searched: tuple[ApiClient, str, str],
    fields: dict[str, Any],
    finds_zip: bool,
    finds_plain: bool,
) -> None:
    api, with_zip, plain = searched
    result = found(api, **fields)
    assert (with_zip in result, plain in result) == (finds_zip, finds_plain)


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ({"type": "blocked", "header_from": ["a@b.test"]}, "header_from does not apply"),
        ({"type": "blocked", "attachments_only": True}, "attachments_only does not apply"),
        ({"attachment_sha256": "abc"}, "64 hexadecimal digits"),
        ({"attachment_status": "gone"}, "attachment_status"),
        ({"password_analysis": "yes"}, "password_analysis"),
        ({"header_to": [""]}, "header_to"),
    ],
)
def test_a_wrong_header_or_attachment_field_is_400_with_a_sentence(
    searched: tuple[ApiClient, str, str], fields: dict[str, Any], says: str
) -> None:
    api, _, _ = searched
    status, body = api.search(period="1h", **fields)
    assert (status, body["error"]["code"]) == (400, "invalid_request")
    assert says in body["error"]["message"] and body["error"]["message"].endswith(".")
