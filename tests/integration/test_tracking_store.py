"""The tracking store against the emulator: what deliver reads before it sends."""

from __future__ import annotations

from datetime import timedelta

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


def test_one_run_at_a_time_claims_a_recipient_until_its_outcome_or_the_lapse(
    gateway: Gateway,
) -> None:
    store = TrackingStore(resources.TRACKING.local_name)
    store.add([_row("claims", "m-1", "bob@example.com")], [])
    now = utcnow()
    until = now + timedelta(seconds=120)

    # A first run claims bob; a duplicate running meanwhile cannot
    assert store.claim("claims", "m-1", "bob@example.com", now, until)
    assert not store.claim("claims", "m-1", "bob@example.com", now, until)
    # A run that comes after the claim lapsed (its holder died) can
    later = until + timedelta(seconds=1)
    assert store.claim("claims", "m-1", "bob@example.com", later, later + timedelta(seconds=120))
    # A recorded outcome releases it for the next attempt
    assert store.set_status(
        "claims", "m-1", "bob@example.com", Status.TEMPORARY_ERROR, claimed_until=""
    )
    assert store.claim("claims", "m-1", "bob@example.com", now, until)
    # A final row is never claimed again, nor a row that does not exist
    assert store.set_status("claims", "m-1", "bob@example.com", Status.DELIVERED, claimed_until="")
    assert not store.claim("claims", "m-1", "bob@example.com", later, later)
    assert not store.claim("claims", "m-1", "nobody@example.com", now, until)


def test_add_once_keeps_a_row_that_is_already_there(gateway: Gateway) -> None:
    store = TrackingStore(resources.TRACKING.local_name)
    row = _row("once", "m-1", "boss@example.com")
    assert store.add_once(row, [])
    assert store.set_status("once", "m-1", "boss@example.com", Status.DELIVERED)

    assert not store.add_once(row, [])

    assert store.statuses("once", "m-1", ["boss@example.com"]) == {
        "boss@example.com": Status.DELIVERED
    }
