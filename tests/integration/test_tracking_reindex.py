"""``mailgate ops reindex`` against the local gateway: rows whose index items are missing or
stale are found by the selective searches again, with their status of now, and a second run
writes nothing."""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from boto3.dynamodb.conditions import Attr
from click.testing import CliRunner

from local.cli import main
from mailgate import aws, resources
from mailgate.catalog import Direction, Status, TrackingType
from mailgate.clock import utcnow
from mailgate.records import TrackingRow
from mailgate.search.matching import RowFilter
from mailgate.search.pager import CursorState
from mailgate.search.period import Period
from mailgate.search.tracking import TrackingQuery, search
from mailgate.storage.audit import AuditStore
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.support.table_scan import scan_all

pytestmark = pytest.mark.integration
SENDER = "old-sender@partner.example"
SHARDS = 3


def _row(tenant_id: str, time: datetime, status: Status) -> TrackingRow:
    return TrackingRow(
        tenant_id=tenant_id,
        message_uuid=str(uuid.uuid4()),
        recipient="user@corp.example",
        time=time,
        direction=Direction.INBOUND,
        sender=SENDER,
        sender_ip="192.0.2.1",
        status=status,
        header_from=[f"Old Sender <{SENDER}>"],
        message_id=f"<{uuid.uuid4()}@partner.example>",
    )


def _found(store: TrackingStore, tenant_id: str, **filter: Any) -> dict[str, Status | None]:
    """Every row a search by sender finds: message uuid → status."""
    now = utcnow()
    query = TrackingQuery(
        tenant_id,
        Direction.INBOUND,
        TrackingType.ACCEPTED,
        "desc",
        50,
        RowFilter(senders=(SENDER,), **filter),
    )
    page = search(store, query, CursorState(Period(now - timedelta(days=30), now)))
    assert page.next is None
    return {row.message_uuid: row.status for row in page.rows}


def _items_of(message_uuid: str) -> list[dict[str, Any]]:
    """The index items of a message."""
    scanned = scan_all(
        resources.TRACKING.local_name, FilterExpression=Attr("message_uuid").eq(message_uuid)
    )
    return [item for item in scanned if "#X#" in item["pk"]]


def _reindex(gateway: Gateway, tenant_id: str, *options: str) -> tuple[int, int, int]:
    """Run the command; its summary for the tenant: rows seen, items written, correct."""
    command = ["reindex", "--tenant", tenant_id, *options]
    result = CliRunner().invoke(
        main,
        ["ops", "--state-dir", gateway.settings.state_dir, "--operator", "alice", *command],
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary = re.search(rf"{tenant_id}\s*│\s*(\d+)\s*│\s*(\d+)\s*│\s*(\d+)", result.output)
    assert summary, result.output
    rows, written, correct = (int(n) for n in summary.groups())
    return rows, written, correct


def test_rows_without_index_items_are_found_again_after_a_reindex(
    gateway: Gateway, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a hot tenant (three shards) with rows over several days
    tenant = f"reindex-{uuid.uuid4().hex[:8]}"
    gateway.tenants.put_tenant(tenant, tenant)
    monkeypatch.setenv("MAILGATE_TRACKING_SHARDS", f'{{"{tenant}": {SHARDS}}}')
    store = TrackingStore(resources.TRACKING.local_name, {tenant: SHARDS})
    table = aws.table(resources.TRACKING.local_name)
    now = utcnow()
    intact = _row(tenant, now - timedelta(hours=1), Status.DELIVERED)
    lost = [_row(tenant, now - timedelta(days=n, hours=2), Status.DELIVERED) for n in range(6)]
    stale = _row(tenant, now - timedelta(days=2), Status.PROCESSING)
    store.add([intact, *lost, stale], [])
    # ... some stored before index items existed (or a crash lost them) ...
    for row in lost:
        for item in _items_of(row.message_uuid):
            table.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    # ... and one made final whose index items were not rewritten (the rewrite failed)
    table.update_item(
        Key={"pk": f"{tenant}#M#{stale.message_uuid}", "sk": f"R#{stale.recipient}"},
        UpdateExpression="SET #s = :s, status_rank = :r",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": Status.DELIVERED.value, ":r": 3},
    )
    assert {i["status"] for i in _items_of(stale.message_uuid)} == {"processing"}

    # A search by sender misses the rows without index items
    assert _found(store, tenant) == {
        intact.message_uuid: Status.DELIVERED,
        stale.message_uuid: Status.DELIVERED,  # (read again from its row)
    }
    assert store.keys_by_message_id(tenant, lost[0].message_id, 10) == []

    # A dry run counts what is missing and writes nothing
    # (from a week back: on the suite's shared table every day bucket read is slow)
    since = ("--since", (now - timedelta(days=7)).date().isoformat())
    rows, to_write, correct = _reindex(gateway, tenant, "--dry-run", *since)
    assert rows == 8
    # (5 index items each lost row, the stale row's 5; the intact row's 5 are correct)
    assert to_write == 6 * 5 + 5
    assert correct == 5
    assert len(_found(store, tenant)) == 2

    # The run writes them: every row is found with its status, by sender and by Message-ID
    assert _reindex(gateway, tenant, *since) == (rows, to_write, correct)
    expected = {row.message_uuid: Status.DELIVERED for row in [intact, *lost, stale]}
    assert _found(store, tenant) == expected
    assert _found(store, tenant, statuses=frozenset({Status.PROCESSING})) == {}
    assert {i["status"] for i in _items_of(stale.message_uuid)} == {"delivered"}
    assert store.keys_by_message_id(tenant, lost[0].message_id, 10) == [
        (lost[0].message_uuid, lost[0].recipient)
    ]

    # A second run finds everything in place and writes nothing
    assert _reindex(gateway, tenant, *since) == (8, 0, 8 * 5)
    # and only the run that wrote is in the tenant's audit trail
    entries, _ = AuditStore(resources.AUDIT.local_name).by_day(
        tenant, now.date(), now - timedelta(hours=1), utcnow(), False, 10
    )
    assert [(e.action, e.actor, e.details["written"]) for e in entries] == [
        ("tracking.reindex", "operator alice", to_write)
    ]


def test_an_unknown_tenant_or_a_future_day_is_refused(gateway: Gateway) -> None:
    tenant = f"reindex-{uuid.uuid4().hex[:8]}"
    gateway.tenants.put_tenant(tenant, tenant)
    base = ["ops", "--state-dir", gateway.settings.state_dir, "reindex"]

    unknown = CliRunner().invoke(main, [*base, "--tenant", "no-such-tenant"])
    assert unknown.exit_code == 1
    assert "Unknown tenants: no-such-tenant." in unknown.output

    tomorrow = (utcnow() + timedelta(days=1)).date().isoformat()
    future = CliRunner().invoke(main, [*base, "--tenant", tenant, "--since", tomorrow])
    assert future.exit_code == 1
    assert "is after today" in future.output
