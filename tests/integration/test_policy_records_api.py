"""Policy events and the quarantine through the local API server and the local AWS emulator:
records are written through their stores (as stage 2 writes them), then searched, opened,
released and deleted over HTTP."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from mailgate import resources
from mailgate.auth import SCOPES
from mailgate.catalog import Direction, PolicyAction, Status, ThreatType
from mailgate.policy.records import PolicyEvent, QuarantineEntry
from mailgate.records import TrackingRow
from mailgate.storage.mail import MailStore, mail_key
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.quarantine import QuarantineStore
from mailgate.storage.tenants import ApiKey
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient, wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def stores() -> tuple[PolicyEventStore, QuarantineStore, TrackingStore, MailStore]:
    return (
        PolicyEventStore(resources.POLICY.local_name),
        QuarantineStore(resources.POLICY.local_name),
        TrackingStore(resources.TRACKING.local_name),
        MailStore(resources.MAIL.local_name),
    )


def tenant(gateway: Gateway, peer: ScriptedServer) -> tuple[str, str, ApiClient]:
    """A new tenant whose domain is delivered to ``peer``, and a client with a named key."""
    tag = uuid.uuid4().hex[:8]
    tenant_id, domain = f"t-{tag}", f"{tag}.test"
    gateway.add_tenant(tenant_id, domain, peer)
    key = f"ops-{tag}"
    gateway.tenants.put_api_key(key, ApiKey(tenant_id=tenant_id, scopes=list(SCOPES), name="ops"))
    return tenant_id, domain, gateway.client(key)


def event(tenant_id: str, n: int, **fields: Any) -> PolicyEvent:
    now = datetime.now(UTC)
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "event_id": f"{uuid.uuid4()}-rule-{n}",
        "message_uuid": str(uuid.uuid4()),
        "time": now - timedelta(minutes=n),
        "received_at": now - timedelta(minutes=n, seconds=2),
        "direction": Direction.INBOUND,
        "sender": "news@shop.test",
        "recipients": ["john@example.test"],
        "rule_name": "Newsletter",
        "threat_type": ThreatType.GRAYMAIL,
        "subtype": "marketing",
        "action": PolicyAction.QUARANTINE,
        "subject": f"Weekly offer {n}",
    }
    return PolicyEvent.model_validate(values | fields)


def quarantined(tenant_id: str, domain: str, minutes_ago: int = 1) -> QuarantineEntry:
    """A quarantined message with its raw object and tracking rows, as stage 2 leaves it."""
    _, quarantine, tracking, mail = stores()
    message_uuid = str(uuid.uuid4())
    received = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    recipients = [f"john@{domain}", f"mary@{domain}"]
    key = mail_key(tenant_id, message_uuid, received)
    mail.put(key, f"From: news@shop.test\r\nSubject: held {message_uuid}\r\n\r\nbody\r\n".encode())
    tracking.add(
        [
            TrackingRow(
                tenant_id=tenant_id,
                message_uuid=message_uuid,
                recipient=recipient,
                time=received,
                direction=Direction.INBOUND,
                sender="news@shop.test",
                sender_ip="192.0.2.9",
                status=Status.QUARANTINED,
                mail_key=key,
            )
            for recipient in recipients
        ],
        [],
    )
    entry = QuarantineEntry(
        tenant_id=tenant_id,
        message_uuid=message_uuid,
        time=received + timedelta(seconds=1),
        received_at=received,
        direction=Direction.INBOUND,
        sender="news@shop.test",
        recipients=recipients,
        sender_ip="192.0.2.9",
        subject=f"held {message_uuid}",
        rule_id="rule-graymail",
        rule_name="Newsletter",
        threat_type=ThreatType.GRAYMAIL,
        mail_key=key,
    )
    quarantine.put(entry)
    return entry


def code(response: tuple[int, Any]) -> tuple[int, str]:
    status, body = response
    return status, body["error"]["code"]


def test_event_search_filters_pages_and_opens_events(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenant_id, _, api = tenant(gateway, peer)
    _, other_api = tenant(gateway, peer)[1:]
    policy = stores()[0]
    events = [event(tenant_id, n) for n in range(1, 6)]
    virus = event(
        tenant_id, 6, threat_type=ThreatType.MALWARE, subtype="", detection_method="pattern"
    )
    virus = virus.model_copy(update={"threat_name": "Eicar_test_file", "violating_file": "a.com"})
    policy.add([*events, virus])
    policy.add([events[0]])  # a repeated scan writes nothing new

    def search(**query: Any) -> tuple[int, Any]:
        return api.request("POST", "/v1/events/search", {"period": "1h", **query})

    status, page = search(threats=[{"type": "graymail", "subtypes": ["marketing"]}], limit=2)
    seen = [item["event_id"] for item in page["items"]]
    while page["next_cursor"]:
        status, page = search(
            threats=[{"type": "graymail", "subtypes": ["marketing"]}],
            limit=2,
            cursor=page["next_cursor"],
        )
        seen += [item["event_id"] for item in page["items"]]
    assert status == 200
    assert seen == [e.event_id for e in events]
    status, page = search(threat_name="eicar")
    assert [item["event_id"] for item in page["items"]] == [virus.event_id]
    assert page["items"][0]["recipients"] == ["john@example.test"]
    status, detail = api.request("GET", f"/v1/events/{virus.event_id}")
    assert (status, detail["cs1"], detail["violating_file"]) == (200, "virus", "a.com")
    assert detail["detection_method"] == "pattern"
    assert code(other_api.request("GET", f"/v1/events/{virus.event_id}")) == (
        404,
        "event_not_found",
    )
    status, page = other_api.request("POST", "/v1/events/search", {"period": "1h"})
    assert (status, page["items"]) == (200, [])


@pytest.mark.parametrize(
    "query",
    [
        {"threats": [{"type": "graymail", "subtypes": ["spf"]}]},
        {"threats": [{"type": "virus"}]},
        {"limit": 1001},
        {"rule_namez": ["x"]},
        {"period": "2d"},
    ],
)
def test_bad_event_search_is_400(gateway: Gateway, query: dict[str, Any]) -> None:
    assert code(gateway.api.request("POST", "/v1/events/search", query)) == (
        400,
        "invalid_request",
    )


def test_ranges_over_60_days_and_foreign_cursors_are_400(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    now = datetime.now(UTC)
    too_long = {"start": (now - timedelta(days=61)).isoformat(), "end": now.isoformat()}
    for path in ("/v1/events/search", "/v1/quarantine/search"):
        assert code(gateway.api.request("POST", path, {"period": too_long})) == (
            400,
            "period_too_long",
        )
    tenant_id, _, api = tenant(gateway, peer)
    stores()[0].add([event(tenant_id, 1), event(tenant_id, 2)])
    _, page = api.request("POST", "/v1/events/search", {"period": "1h", "limit": 1})
    other = gateway.api.request(
        "POST", "/v1/events/search", {"period": "1h", "limit": 1, "cursor": page["next_cursor"]}
    )
    assert code(other) == (400, "invalid_cursor")


def test_quarantine_search_and_detail_stay_within_the_tenant(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenant_id, domain, api = tenant(gateway, peer)
    _, _, other_api = tenant(gateway, peer)
    entries = [quarantined(tenant_id, domain, minutes_ago=n) for n in (1, 2, 3)]

    status, page = api.request(
        "POST", "/v1/quarantine/search", {"period": "1h", "reasons": ["graymail"], "limit": 2}
    )
    assert status == 200
    assert [i["message_uuid"] for i in page["items"]] == [e.message_uuid for e in entries[:2]]
    assert page["next_cursor"]
    status, page = api.request(
        "POST", "/v1/quarantine/search", {"period": "1h", "reasons": ["spam"]}
    )
    assert page["items"] == []
    status, detail = api.request("GET", f"/v1/quarantine/{entries[0].message_uuid}")
    assert (status, detail["state"], detail["reason"]) == (200, "quarantined", "graymail")
    assert code(other_api.request("GET", f"/v1/quarantine/{entries[0].message_uuid}")) == (
        404,
        "message_not_found",
    )
    answer = other_api.request(
        "POST", "/v1/quarantine/delete", {"message_uuids": [entries[0].message_uuid]}
    )
    assert answer == (
        200,
        {
            "results": [{"message_uuid": entries[0].message_uuid, "result": "not_found"}],
            "remaining": 0,
            "remaining_more": False,
        },
    )


def test_two_releases_at_once_deliver_the_message_once(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenant_id, domain, api = tenant(gateway, peer)
    entry = quarantined(tenant_id, domain)
    answers: list[Any] = []
    barrier = threading.Barrier(2)

    def release() -> None:
        barrier.wait()
        answers.append(
            api.request("POST", "/v1/quarantine/release", {"message_uuids": [entry.message_uuid]})
        )

    threads = [threading.Thread(target=release) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    outcomes = sorted(body["results"][0]["result"] for status, body in answers)
    assert outcomes == ["already_released", "released"]
    wait_for(lambda: peer.received)
    time.sleep(2)  # a second job, if there were one, would have been delivered by now
    assert len(peer.received) == 1
    assert f"held {entry.message_uuid}".encode() in peer.received[0].data
    _, detail = api.request("GET", f"/v1/quarantine/{entry.message_uuid}")
    assert detail["released_by"] == "ops"


def test_delete_removes_the_message_and_marks_its_rows(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenant_id, domain, api = tenant(gateway, peer)
    entry = quarantined(tenant_id, domain)

    status, body = api.request(
        "POST", "/v1/quarantine/delete", {"message_uuids": [entry.message_uuid]}
    )
    again = api.request("POST", "/v1/quarantine/delete", {"message_uuids": [entry.message_uuid]})

    assert (status, body["results"][0]["result"]) == (200, "deleted")
    assert again[1]["results"][0]["result"] == "already_deleted"
    with pytest.raises(ClientError):
        stores()[3].get(entry.mail_key)
    status, detail = api.request(
        "GET", f"/v1/tracking/{entry.message_uuid}?recipient={entry.recipients[1]}"
    )
    assert (status, detail["processing"]["delivery"]["status"]) == (200, "deleted")
    assert "deleted from quarantine by ops" in [e["detail"] for e in detail["events"]]
    status, page = api.request("POST", "/v1/quarantine/search", {"period": "1h"})
    assert page["items"] == []
    assert peer.received == []


def test_release_and_delete_need_the_quarantine_scope(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tag = uuid.uuid4().hex[:8]
    reader = gateway.add_tenant(f"reader-{tag}", f"{tag}.test", peer, ["logs:read"])
    for path in ("/v1/quarantine/release", "/v1/quarantine/delete"):
        assert code(reader.request("POST", path, {"message_uuids": ["m-1"]})) == (403, "forbidden")
    assert reader.request("POST", "/v1/quarantine/search", {"period": "1h"})[0] == 200
