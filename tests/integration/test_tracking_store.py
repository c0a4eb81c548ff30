"""The tracking store against the emulator: what deliver reads before it sends."""

from __future__ import annotations

from datetime import timedelta

import boto3
from boto3.dynamodb.conditions import Key

from mailgate import resources
from mailgate.catalog import Direction, Status
from mailgate.clock import utcnow
from mailgate.records import PolicyPass, TimelineEvent, TrackingRow
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


def _items(tenant_id: str, message_uuid: str) -> list[str]:
    """The sort keys of the message's items, as stored (docs/records.md)."""
    table = boto3.resource("dynamodb").Table(resources.TRACKING.local_name)
    answer = table.query(KeyConditionExpression=Key("pk").eq(f"{tenant_id}#M#{message_uuid}"))
    return sorted(item["sk"] for item in answer["Items"])


def test_a_stage_2_pass_is_one_item_read_back_as_one_event_per_rule(gateway: Gateway) -> None:
    # Given a message scanned by 40 rules, then its release after the quarantining one
    store = TrackingStore(resources.TRACKING.local_name)
    store.add([_row("passes", "m-1", "bob@example.com")], [])
    results = [(f"rule {n}", "no_match", "") for n in range(1, 40)]
    results.append(("Hold invoices", "quarantine", "engine slow; kept"))
    first = PolicyPass(time=utcnow(), pass_id="first", results=results)
    store.record_pass("passes", "m-1", first)
    release = PolicyPass(
        time=utcnow() + timedelta(seconds=5),
        pass_id="after-hold",
        released_by="ops key",
        results=[("Tag the rest", "none", "")],
    )
    store.record_pass("passes", "m-1", release)

    # Then each pass is one item beside the row
    assert _items("passes", "m-1") == ["E#2-after-hold", "E#2-first", "R#bob@example.com"]
    # And the timeline reads one event per rule, in order, with its rule and result
    _, events = store.message("passes", "m-1")
    assert [e.event_id for e in events][:2] == ["2-first-001", "2-first-002"]
    assert [(e.rule, e.result) for e in events[:40]] == [(r, s) for r, s, _ in results]
    assert events[39].detail == "Hold invoices: quarantine (engine slow; kept)"
    assert [(e.event_id, e.event, e.detail) for e in events[40:]] == [
        ("2-after-hold-000", "released", "released from quarantine by administrator ops key"),
        ("2-after-hold-001", "policy", "Tag the rest: none"),
    ]
    # And another tenant asking for the same message uuid sees none of it
    assert store.message("someone-else", "m-1") == ([], [])


def test_a_pass_run_again_replaces_its_item_and_older_per_rule_events_are_read_once(
    gateway: Gateway,
) -> None:
    # Given a pass stored one event per rule, as passes were before they were stored whole
    store = TrackingStore(resources.TRACKING.local_name)
    store.add([_row("rerun", "m-1", "bob@example.com")], [])
    then = utcnow()
    for number, rule in enumerate(["Spam", "Virus"], start=1):
        store.record(
            "rerun",
            "m-1",
            TimelineEvent(
                time=then,
                event_id=f"2-first-{number:03d}",
                stage="scan",
                event="policy",
                detail=f"{rule}: no_match",
                rule=rule,
                result="no_match",
            ),
        )

    # When the same pass runs again, twice (a redelivered job), now stored whole
    for _ in range(2):
        again = PolicyPass(
            time=then,
            pass_id="first",
            results=[("Spam", "no_match", ""), ("Virus", "no_match", "")],
        )
        store.record_pass("rerun", "m-1", again)

    # Then the timeline holds each rule once
    _, events = store.message("rerun", "m-1")
    assert [(e.event_id, e.rule) for e in events] == [
        ("2-first-001", "Spam"),
        ("2-first-002", "Virus"),
    ]
    assert _items("rerun", "m-1").count("E#2-first") == 1


def test_a_pass_without_rules_reads_as_scanned(gateway: Gateway) -> None:
    store = TrackingStore(resources.TRACKING.local_name)
    store.record_pass("scanned", "m-1", PolicyPass(time=utcnow(), pass_id="first"))

    _, events = store.message("scanned", "m-1")

    assert [(e.event, e.detail) for e in events] == [
        ("scanned", "no policy rule applies to this message")
    ]
