"""Tracking search against the emulator, counted by what the store read: a selective search
over 30 days reads about what it returns, a hot tenant's shards merge in exact time order, and
index items never outlive or contradict their row."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Literal

from boto3.dynamodb.conditions import Attr

from functions.query.tracking_service import TrackingService
from mailgate import aws, resources
from mailgate.api.models import CustomPeriod, TrackingSearch
from mailgate.catalog import Direction, Status, TrackingType
from mailgate.clock import parse_iso, utcnow
from mailgate.records import TrackingRow
from mailgate.search.cursor import CursorSigner
from mailgate.search.matching import RowFilter
from mailgate.search.pager import CursorState
from mailgate.search.period import Period
from mailgate.search.tracking import TrackingQuery, search
from mailgate.storage.meter import StoreMeter
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.support.table_scan import scan_all


def _row(tenant_id: str, time: datetime, sender: str, **fields: Any) -> TrackingRow:
    values: dict[str, Any] = {
        "tenant_id": tenant_id,
        "message_uuid": str(uuid.uuid4()),
        "recipient": "user@corp.example",
        "time": time,
        "direction": Direction.INBOUND,
        "sender": sender,
        "sender_ip": "192.0.2.1",
        "status": Status.DELIVERED,
        "message_id": f"<{uuid.uuid4()}@mail.example>",
    }
    values.update(fields)
    return TrackingRow.model_validate(values)


def _every_page(
    store: TrackingStore,
    tenant_id: str,
    period: Period,
    limit: int,
    sort: Literal["asc", "desc"] = "desc",
    **filter: Any,
) -> list[list[TrackingRow]]:
    query = TrackingQuery(
        tenant_id,
        Direction.INBOUND,
        TrackingType.ACCEPTED,
        sort,
        limit,
        RowFilter(**filter),
    )
    pages = [search(store, query, CursorState(period))]
    while (start := pages[-1].next) is not None:
        pages.append(search(store, query, start))
    return [page.rows for page in pages]


def _read_by(
    store: TrackingStore, tenant_id: str, period: Period, **filter: Any
) -> tuple[list[TrackingRow], int]:
    """Every row a search finds (pages of 5) and how many items the store read for it."""
    store.meter = StoreMeter()
    rows = [row for page in _every_page(store, tenant_id, period, 5, **filter) for row in page]
    return rows, store.meter.items_read


def _newest_first(rows: list[TrackingRow]) -> list[tuple[str, str]]:
    ordered = sorted(rows, key=lambda r: (r.time, r.message_uuid, r.recipient), reverse=True)
    return [(r.message_uuid, r.recipient) for r in ordered]


def _keys(rows: list[TrackingRow]) -> list[tuple[str, str]]:
    return [(r.message_uuid, r.recipient) for r in rows]


def test_a_selective_search_over_30_days_reads_about_what_it_returns(gateway: Gateway) -> None:
    # Given 30 days of mail from 40 senders, a few rows of it from one sender and one sub-domain
    tenant, now = "idx-selective", utcnow()
    store = TrackingStore(resources.TRACKING.local_name)
    rows = [
        _row(tenant, now - timedelta(hours=n * 1.7), f"s{n % 40}@d{n % 10}.example")
        for n in range(400)
    ]
    target = [
        _row(tenant, now - timedelta(days=n * 2.3), "Target@Partner.example") for n in range(12)
    ]
    sub = [_row(tenant, now - timedelta(days=n * 3), f"n{n}@mail.other.example") for n in range(3)]
    wanted_id = rows[123]
    for start in range(0, len(rows), 50):
        store.add(rows[start : start + 50], [])
    store.add(target + sub, [])
    period = Period(now - timedelta(days=30), now)

    # When it is searched by sender, domain, parent domain and Message-ID, five rows a page
    found, read = _read_by(store, tenant, period, senders=("target@partner.example",))
    # Then each search finds exactly its rows, newest first, reading about as many items
    assert _keys(found) == _newest_first(target)
    assert read <= 1.2 * len(found)

    found, read = _read_by(store, tenant, period, senders=("*@partner.example",))
    assert _keys(found) == _newest_first(target)
    assert read <= 1.2 * len(found)

    found, read = _read_by(store, tenant, period, senders=("*@*.other.example",))
    assert _keys(found) == _newest_first(sub)
    assert read <= 1.2 * len(found)
    # (a sub-domain and its domain share the registrable domain's key: asking for one of them
    # reads the rows of both)
    found, read = _read_by(store, tenant, period, senders=("*@other.example",))
    assert (found, read) == ([], len(sub))

    found, read = _read_by(store, tenant, period, message_id=wanted_id.message_id.upper())
    assert (_keys(found), read) == (_keys([wanted_id]), 1)

    # While a wildcard no index holds reads the period's rows, and finds the same
    found, read = _read_by(store, tenant, period, senders=("targ*@partner.example",))
    assert _keys(found) == _newest_first(target)
    assert read >= len(rows)


def test_the_header_from_and_the_envelope_sender_share_keys_and_each_finds_its_own(
    gateway: Gateway,
) -> None:
    # Given mail whose header From is its sender, and mail sent for it by a service
    tenant, now = "idx-from", utcnow()
    store = TrackingStore(resources.TRACKING.local_name)
    news = "News <news@shop.example>"
    direct = [
        _row(tenant, now - timedelta(days=n), "news@shop.example", header_from=[news])
        for n in range(4)
    ]
    relayed = [
        _row(tenant, now - timedelta(days=n, hours=5), "b-1@bounce.esp.example", header_from=[news])
        for n in range(3)
    ]
    noise = [_row(tenant, now - timedelta(hours=n), f"x{n}@else.example") for n in range(60)]
    store.meter = StoreMeter()
    store.add(direct + relayed + noise, [])
    # (a row, its by_time entry and 5 index items; 2 more when a service sent it: the
    # sender's address and domain besides the header From's)
    assert store.meter.items_written == (4 + 60) * 7 + 3 * 9
    period = Period(now - timedelta(days=30), now)

    # A search by header From finds both, by its index
    found, read = _read_by(store, tenant, period, header_from=("news@shop.example",))
    assert _keys(found) == _newest_first(direct + relayed)
    assert read <= 1.2 * len(found)
    found, read = _read_by(store, tenant, period, header_from=("*@shop.example",))
    assert _keys(found) == _newest_first(direct + relayed)
    assert read <= 1.2 * len(found)
    # while a search by envelope sender reads the same items and keeps only its own
    found, read = _read_by(store, tenant, period, senders=("news@shop.example",))
    assert _keys(found) == _newest_first(direct)
    assert len(direct + relayed) <= read <= 1.2 * len(direct + relayed)
    found, _ = _read_by(store, tenant, period, senders=("*@*.esp.example",))
    assert _keys(found) == _newest_first(relayed)


def test_a_message_ids_rows_are_one_partition_whatever_the_direction_and_shards(
    gateway: Gateway,
) -> None:
    tenant, now = "idx-mid", utcnow()
    store = TrackingStore(resources.TRACKING.local_name, {tenant: 3})
    message_id = f"<{uuid.uuid4()}@corp.example>"
    inbound = _row(tenant, now - timedelta(minutes=9), "a@partner.example", message_id=message_id)
    outbound = [
        _row(
            tenant,
            now - timedelta(minutes=5),
            "user@corp.example",
            recipient=f"r{n}@elsewhere.example",
            direction=Direction.OUTBOUND,
            message_id=message_id,
        )
        for n in range(2)
    ]
    dsn = _row(tenant, now - timedelta(minutes=1), "", refers_to=message_id.upper())
    store.add([inbound, *outbound, dsn], [])

    # A search by Message-ID reads the one partition and keeps its direction's rows
    found, read = _read_by(
        store, tenant, Period(now - timedelta(hours=1), now), message_id=message_id
    )
    assert (_keys(found), read) == (_keys([inbound]), 4)
    # and the related messages are found from it, each leg and the DSN naming the message
    keys = store.keys_by_message_id(tenant, message_id, 10)
    assert sorted(keys) == sorted(_keys([inbound, *outbound, dsn]))
    assert store.keys_by_message_id("idx-other-tenant", message_id, 10) == []


def test_a_hot_tenants_shards_merge_in_exact_time_order(gateway: Gateway) -> None:
    # Given a tenant spread over 4 shards, with many rows sharing an instant (a message's
    # recipients) and several messages sharing one too
    # (noon yesterday, so that the rows' three hours never straddle midnight into two days)
    tenant = "idx-hot"
    now = (utcnow() - timedelta(days=1)).replace(hour=12, minute=0, second=0, microsecond=0)
    store = TrackingStore(resources.TRACKING.local_name, shards={tenant: 4})
    rows: list[TrackingRow] = []
    for n in range(30):
        time = now - timedelta(minutes=(n // 3) * 7)  # three messages an instant
        message_uuid = str(uuid.uuid4())
        for recipient in ("a@corp.example", "b@corp.example", "c@corp.example")[: 1 + n % 3]:
            rows.append(
                _row(
                    tenant,
                    time,
                    f"s{n % 2}@x.example",
                    message_uuid=message_uuid,
                    recipient=recipient,
                )
            )
    store.add(rows, [])
    period = Period(now - timedelta(hours=3), now)

    # Then the rows were spread over the shards
    buckets = {
        item["gsi1pk"]
        for item in scan_all(
            resources.TRACKING.local_name,
            FilterExpression=Attr("tenant_id").eq(tenant) & Attr("sk").begins_with("R#"),
        )
    }
    assert len(buckets) == 4

    # And paging through the day buckets, or one sender's index, either way, seven rows a page,
    # gives every row once in exact time order
    searches: list[tuple[Literal["asc", "desc"], dict[str, Any]]] = [
        ("desc", {}),
        ("asc", {}),
        ("desc", {"senders": ("s1@x.example",)}),
    ]
    for sort, filter in searches:
        pages = _every_page(store, tenant, period, 7, sort, **filter)
        wanted = [r for r in rows if not filter or r.sender == "s1@x.example"]
        order = _newest_first(wanted)
        assert [key for page in pages for key in _keys(page)] == (
            order if sort == "desc" else order[::-1]
        )
        assert all(len(page) == 7 for page in pages[:-1])


def _index_items(message_uuid: str) -> list[dict[str, Any]]:
    items = scan_all(
        resources.TRACKING.local_name, FilterExpression=Attr("message_uuid").eq(message_uuid)
    )
    return [item for item in items if "#X#" in item["pk"]]


def test_index_items_follow_their_row_and_never_outlive_it(gateway: Gateway) -> None:
    tenant, now = "idx-follow", utcnow()
    store = TrackingStore(resources.TRACKING.local_name)
    period = Period(now - timedelta(hours=1), now)
    row = _row(
        tenant,
        now - timedelta(minutes=5),
        "mover@x.example",
        status=Status.PROCESSING,
        header_from=["Mover <mover@x.example>"],
    )
    store.add([row], [])
    by_sender: dict[str, Any] = {"senders": ("mover@x.example",)}

    def statuses(*wanted: Status) -> list[Status | None]:
        pages = _every_page(store, tenant, period, 10, statuses=frozenset(wanted), **by_sender)
        return [r.status for page in pages for r in page]

    # Each index item expires with its row
    items = _index_items(row.message_uuid)
    # (the sender, which is its header From, and the recipient, each with its domain; the
    # Message-ID)
    assert len(items) == 5
    [stored] = [
        i
        for i in scan_all(
            resources.TRACKING.local_name,
            FilterExpression=Attr("message_uuid").eq(row.message_uuid)
            & Attr("sk").begins_with("R#"),
        )
    ]
    assert {i["expires_at"] for i in items} == {stored["expires_at"]}

    # A status the index items do not hold yet is the one a search shows and filters on
    assert statuses(Status.PROCESSING) == [Status.PROCESSING]
    assert store.set_status(tenant, row.message_uuid, row.recipient, Status.TEMPORARY_ERROR)
    assert statuses(Status.PROCESSING) == []
    assert statuses(Status.TEMPORARY_ERROR) == [Status.TEMPORARY_ERROR]

    # Once final, the index items hold it, and a search reads nothing but them
    assert store.set_status(tenant, row.message_uuid, row.recipient, Status.DELIVERED)
    assert {i["status"] for i in _index_items(row.message_uuid)} == {"delivered"}
    found, read = _read_by(
        store, tenant, period, statuses=frozenset({Status.DELIVERED}), **by_sender
    )
    assert ([r.status for r in found], read) == ([Status.DELIVERED], 1)

    # And an index item left without its row (a crash between the two writes) is never shown
    orphan = _row(tenant, now - timedelta(minutes=2), "mover@x.example", status=Status.PROCESSING)
    store.add([orphan], [])
    aws.table(resources.TRACKING.local_name).delete_item(
        Key={"pk": f"{tenant}#M#{orphan.message_uuid}", "sk": f"R#{orphan.recipient}"}
    )
    assert statuses() == [Status.DELIVERED]


def test_every_answer_says_up_to_when_it_is_complete(gateway: Gateway) -> None:
    tenant = "idx-as-of"
    store = TrackingStore(resources.TRACKING.local_name)
    before = utcnow()
    store.add([_row(tenant, before - timedelta(minutes=1), "old@x.example")], [])
    service = TrackingService(store, CursorSigner(b"k" * 32))

    page = service.search(tenant, TrackingSearch(period="1h", senders=["old@x.example"], limit=1))
    as_of = parse_iso(page.as_of)

    # as_of is before the search (by the time a row may take to be stored), every row up to it
    # is in the answer, and a search that ran to its end did not stop at its budget
    assert before - timedelta(seconds=31) <= as_of <= utcnow() - timedelta(seconds=30)
    assert len(page.items) == 1
    assert page.searched_until is None

    # A custom period that ended earlier is complete up to its end
    end = before - timedelta(minutes=10)
    page = service.search(
        tenant, TrackingSearch(period=CustomPeriod(start=end - timedelta(hours=1), end=end))
    )
    assert parse_iso(page.as_of) == end
    assert page.items == []
