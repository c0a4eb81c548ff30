"""The SIEM feed through the local API and emulator: a tenant's policy events and blocked rows
in the order they were written, as CEF or JSON lines, resumed exactly by the cursor."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mailgate import clock, resources
from mailgate.catalog import BlockReason, Direction, PolicyAction, ThreatType, TrackingType
from mailgate.policy.records import PolicyEvent
from mailgate.records import TrackingRow
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration


def _event(tenant_id: str, subject: str, time: datetime) -> PolicyEvent:
    return PolicyEvent(
        tenant_id=tenant_id,
        event_id=str(uuid.uuid4()),
        message_uuid=str(uuid.uuid4()),
        time=time,
        received_at=time,
        direction=Direction.INBOUND,
        sender="alice@sender.test",
        recipients=["bob@example.com"],
        subject=subject,
        rule_name="Spam",
        threat_type=ThreatType.SPAM,
        action=PolicyAction.QUARANTINE,
    )


def _blocked(tenant_id: str, subject: str, time: datetime) -> TrackingRow:
    return TrackingRow(
        tenant_id=tenant_id,
        message_uuid=str(uuid.uuid4()),
        recipient="bob@example.com",
        time=time,
        direction=Direction.INBOUND,
        type=TrackingType.BLOCKED,
        sender="mallory@spam.test",
        sender_ip="198.51.100.9",
        status=None,
        block_reason=BlockReason.SENDER_IP_QIL,
        subject=subject,
    )


def _feed(api: ApiClient, **params: str) -> tuple[int, dict[str, str], str]:
    query = "&".join(f"{name}={value}" for name, value in params.items())
    status, headers, data = api.exchange("GET", f"/v1/events/feed?{query}")
    return status, headers, data.decode()


def test_the_feed_gives_each_line_once_in_the_order_written_late_writes_included(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant whose events and blocked rows were written one after the other, the last
    # an event about a message of the day before (a scan retried late)
    tenant_id = f"feed-{uuid.uuid4().hex[:8]}"
    api = gateway.add_tenant(tenant_id, f"{tenant_id}.test", peer)
    events = PolicyEventStore(resources.POLICY.local_name)
    tracking = TrackingStore(resources.TRACKING.local_name)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with clock.travel(start):
        events.add([_event(tenant_id, "first = event|one", start)])
    with clock.travel(start + timedelta(seconds=1)):
        tracking.add([_blocked(tenant_id, "blocked", start)], [])
    with clock.travel(start + timedelta(seconds=2)):
        events.add([_event(tenant_id, "late", start - timedelta(days=1))])
    since = (start - timedelta(seconds=1)).isoformat().replace("+00:00", "Z")

    # When a SIEM polls two lines at a time, then with each answer's cursor
    status, headers, first = _feed(api, since=since, limit="2", format="json")
    _, headers2, second = _feed(api, cursor=headers["X-Feed-Cursor"], limit="2", format="json")
    _, _, third = _feed(api, cursor=headers2["X-Feed-Cursor"], format="json")

    # Then it gets every line once, in the order written
    assert status == 200, first
    lines = [json.loads(text) for text in (first + second).splitlines()]
    assert [(line["kind"], line["subject"]) for line in lines] == [
        ("event", "first = event|one"),
        ("blocked", "blocked"),
        ("event", "late"),
    ]
    assert third == ""

    # And the same lines as CEF, their text escaped; another tenant's key sees none of them
    _, _, cef = _feed(api, since=since)
    assert cef.splitlines()[0].startswith("CEF:0|mailgate|mailgate|1|event:spam|Spam|7|")
    assert "msg=first \\= event|one" in cef and "cs1=spam" in cef
    assert "|blocked:sender_ip_qil|" in cef.splitlines()[1]
    stranger = gateway.add_tenant(f"o{tenant_id}", f"o{tenant_id}.test", peer)
    assert _feed(stranger, since=since)[2] == ""
    status, _, data = _feed(stranger, cursor=headers["X-Feed-Cursor"])
    assert status == 400 and json.loads(data)["error"]["code"] == "invalid_cursor"


@pytest.mark.parametrize(
    "params", [{"format": "xml"}, {"limit": "0"}, {"limit": "1001"}, {"since": "yesterday"}]
)
def test_bad_feed_parameters_are_400(gateway: Gateway, params: dict[str, str]) -> None:
    status, _, data = _feed(gateway.api, **params)

    assert status == 400, data
