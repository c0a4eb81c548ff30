"""The tracking store against the emulator: what deliver reads before it sends."""

from __future__ import annotations

from mailgate import resources
from mailgate.catalog import Direction, Status
from mailgate.clock import utcnow
from mailgate.records import TimelineEvent, TrackingRow
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway


def _row(tenant_id: str, message_uuid: str, recipient: str) -> TrackingRow:
    return TrackingRow(
        tenant_id=tenant_id,
        message_uuid=message_uuid,
        recipient=recipient,
        time=utcnow(),
        direction=Direction.INBOUND,
        sender="a@sender.test",
        sender_ip="192.0.2.1",
    )


def test_statuses_are_read_by_recipient_and_stay_within_the_tenant(gateway: Gateway) -> None:
    # Given a message with two recipients, one delivered, and its timeline
    store = TrackingStore(resources.TRACKING.local_name)
    received = TimelineEvent(
        time=utcnow(), event_id="0-received", stage="receive", event="received"
    )
    store.add(
        [_row("statuses", "m-1", "Done@example.com"), _row("statuses", "m-1", "open@example.com")],
        [received],
    )
    assert store.set_status("statuses", "m-1", "done@example.com", Status.DELIVERED)

    # When deliver asks for the recipients of its job, in any case, with one unknown
    found = store.statuses(
        "statuses", "m-1", ["DONE@example.com", "open@example.com", "never@example.com"]
    )

    # Then each known recipient has its status and the unknown one none
    assert found == {"done@example.com": Status.DELIVERED, "open@example.com": Status.PROCESSING}
    # And another tenant asking for the same message uuid sees nothing
    assert store.statuses("someone-else", "m-1", ["done@example.com"]) == {}
