"""Exports through the local API server, worker and emulator: the selected rows as a file, and
"export all" tasks with their quota, their zip in S3 and its download link."""

from __future__ import annotations

import csv
import email
import email.policy
import io
import json
import re
import threading
import urllib.error
import urllib.request
import uuid
import zipfile
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mailgate import clock, resources
from mailgate.catalog import BlockReason, Direction, PolicyAction, Status, ThreatType, TrackingType
from mailgate.policy.records import PolicyEvent
from mailgate.records import ExportTaskRecord, TrackingRow
from mailgate.storage.exports import ExportStore
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.tracking import TrackingStore
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient, wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration

QUOTA_JA = "クエリが実行されたすべてのログを1日あたり最大5回エクスポートできます。"
QUOTA_EN = "You can export all queried logs up to 5 times per day."
ZIP_NAME = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.csv\.zip$"
)
TOKYO = ZoneInfo("Asia/Tokyo")


def _tenant(gateway: Gateway, peer: ScriptedServer) -> tuple[str, ApiClient]:
    tenant_id = f"exp-{uuid.uuid4().hex[:8]}"
    return tenant_id, gateway.add_tenant(tenant_id, f"{tenant_id}.test", peer)


def _rows(
    tenant_id: str,
    count: int,
    start: datetime,
    type: TrackingType = TrackingType.ACCEPTED,
    every: timedelta = timedelta(milliseconds=1),
) -> list[TrackingRow]:
    blocked = type is TrackingType.BLOCKED
    return [
        TrackingRow(
            tenant_id=tenant_id,
            message_uuid=str(uuid.uuid4()),
            recipient=f"r{n}@example.com",
            time=start + n * every,
            direction=Direction.INBOUND,
            type=type,
            sender="alice@sender.test",
            sender_ip="203.0.113.7",
            upstream_tls="TLSv1.3",
            status=None if blocked else Status.DELIVERED,
            block_reason=BlockReason.SENDER_IP_QIL if blocked else None,
            subject="会議の資料",
            size=2048,
        )
        for n in range(count)
    ]


def _store(rows: list[TrackingRow]) -> None:
    TrackingStore(resources.TRACKING.local_name).add(rows, [])  # batches of 25 writes


def _selected(rows: list[TrackingRow]) -> list[dict[str, str]]:
    return [{"message_uuid": r.message_uuid, "recipient": r.recipient} for r in rows]


def _records(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf"), data[:20]
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def _period(rows: list[TrackingRow]) -> dict[str, str]:
    return {
        "start": (min(r.time for r in rows) - timedelta(seconds=1)).isoformat(),
        "end": (max(r.time for r in rows) + timedelta(seconds=1)).isoformat(),
    }


def _start(api: ApiClient, locale: str = "en", **query: Any) -> tuple[int, Any, Any]:
    """POST an "export all" of ``query``: status, headers, JSON body."""
    status, headers, data = api.exchange(
        "POST", "/v1/exports", {"log": "tracking", "query": query, "locale": locale}
    )
    return status, headers, json.loads(data)


def _finished(api: ApiClient, task_id: str, timeout: float = 60) -> dict[str, Any]:
    def done() -> dict[str, Any] | None:
        status, task = api.request("GET", f"/v1/exports/{task_id}")
        assert status == 200, task
        return task if task["status"] != "processing" else None

    found: dict[str, Any] = wait_for(done, timeout=timeout, interval=0.5)
    return found


def _download(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # our own presigned link
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def _unzipped(data: bytes) -> tuple[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        (name,) = archive.namelist()
        return name, archive.read(name)


def test_selected_rows_come_back_as_a_csv_file_in_english_and_japanese(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given rows of a tenant, one with a subject that a spreadsheet would run
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 3, datetime.now(UTC) - timedelta(minutes=5))
    rows[0] = rows[0].model_copy(update={"subject": '=HYPERLINK("http://evil.test","x")'})
    _store(rows)
    body = {"query": {"period": "1h"}, "select": _selected(rows), "time_zone": "Asia/Tokyo"}

    # When they are exported in each locale
    status, headers, data = api.exchange("POST", "/v1/exports", body | {"locale": "en"})
    ja_status, _, ja_data = api.exchange("POST", "/v1/exports", body | {"locale": "ja"})

    # Then each is the CSV file of accepted traffic, labels in its locale, times in Tokyo's
    assert (status, ja_status) == (200, 200), data
    assert headers["Content-Type"].startswith("text/csv")
    assert headers["Content-Disposition"] == 'attachment; filename="tracking_log_accepted.csv"'
    assert headers["X-Export-Quota-Remaining"] == "5"
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    header, *records = _records(data)
    assert header[0] == "Date" and header[7] == "Action"
    assert [r[16] for r in records] == [r.message_uuid for r in reversed(rows)]  # newest first
    first = records[-1]
    assert first[12] == '\'=HYPERLINK("http://evil.test","x")'
    assert first[7] == "Delivered"
    assert first[0] == rows[0].time.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")
    ja_header, *ja_records = _records(ja_data)
    assert ja_header[:3] == ["日時", "種類", "方向"]
    assert {r[7] for r in ja_records} == {"配信済み"}
    assert ja_records[0][12] == "会議の資料"


def test_selected_blocked_rows_are_the_blocked_traffic_file(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 2, datetime.now(UTC) - timedelta(minutes=5), TrackingType.BLOCKED)
    _store(rows)

    status, headers, data = api.exchange(
        "POST",
        "/v1/exports",
        {"query": {"type": "blocked"}, "select": _selected(rows), "locale": "ja"},
    )

    assert status == 200, data
    assert headers["Content-Disposition"] == 'attachment; filename="tracking_log_blocked.csv"'
    header, *records = _records(data)
    assert header[-2:] == ["ブロックの理由", "メッセージUUID"]
    assert {r[7] for r in records} == {"送信者のIPをQILで検出"}


def test_rows_of_another_tenant_select_nothing(gateway: Gateway, peer: ScriptedServer) -> None:
    # Given a row of one tenant and one of another
    mine_id, api = _tenant(gateway, peer)
    theirs_id, _ = _tenant(gateway, peer)
    now = datetime.now(UTC) - timedelta(minutes=5)
    mine, theirs = _rows(mine_id, 1, now), _rows(theirs_id, 1, now)
    _store(mine + theirs)

    # When the first selects the other's row, alone or beside its own
    alone = api.request("POST", "/v1/exports", {"select": _selected(theirs)})
    status, _, data = api.exchange("POST", "/v1/exports", {"select": _selected(mine + theirs)})

    # Then the other's row is not found, and never exported
    assert alone[0] == 404 and alone[1]["error"]["code"] == "rows_not_found"
    assert status == 200
    assert [r[16] for r in _records(data)[1:]] == [mine[0].message_uuid]


def test_export_all_writes_a_zip_that_the_link_downloads_and_only_that_object(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given rows of a tenant
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 30, datetime.now(UTC) - timedelta(minutes=10))
    _store(rows)

    # When it exports all rows of its query
    status, headers, started = _start(api, "ja", period=_period(rows))

    # Then a task is processing, then complete, and its link downloads the zipped CSV
    assert status == 202, started
    assert started["status"] == "processing"
    assert headers["X-Export-Quota-Remaining"] == "4"
    task = _finished(api, started["task_id"])
    assert task["status"] == "complete", task
    assert task["rows"] == 30 and task["truncated"] is False
    assert ZIP_NAME.match(task["file_name"]), task["file_name"]
    status, data = _download(task["download_url"])
    assert status == 200, data[:300]
    name, content = _unzipped(data)
    assert name == task["file_name"].removesuffix(".zip")
    header, *records = _records(content)
    assert header[0] == "日時" and len(records) == 30
    assert {r[12] for r in records} == {"会議の資料"}

    # And the tenant's task list shows it, newest first
    _, listed = api.request("GET", "/v1/exports")
    assert listed["tasks"][0]["task_id"] == started["task_id"]
    assert "download_url" not in listed["tasks"][0]

    # And the link, its key changed to another object, is refused
    other_status, _, other_started = _start(api, period=_period(rows))
    assert other_status == 202
    other = _finished(api, other_started["task_id"])
    altered = task["download_url"].replace(task["file_name"], other["file_name"])
    assert _download(altered)[0] == 403

    # And another tenant does not see the task
    _, stranger = _tenant(gateway, peer)
    status, body = stranger.request("GET", f"/v1/exports/{started['task_id']}")
    assert status == 404 and body["error"]["code"] == "task_not_found"


def test_export_all_as_parquet_is_a_typed_file_a_notebook_reads(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given rows of a tenant
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 12, datetime.now(UTC) - timedelta(minutes=10))
    _store(rows)

    # When it exports all rows of its query as Parquet, in Tokyo's time
    status, _, data = api.exchange(
        "POST",
        "/v1/exports",
        {"query": {"period": _period(rows)}, "format": "parquet", "time_zone": "Asia/Tokyo"},
    )

    # Then the task's file is a Parquet file (not zipped) with typed columns
    assert status == 202, data
    task = _finished(api, json.loads(data)["task_id"])
    assert task["status"] == "complete" and task["rows"] == 12, task
    assert task["file_name"].endswith(".parquet") and task["format"] == "parquet"
    status, content = _download(task["download_url"])
    assert status == 200, content[:300]
    table = pq.read_table(io.BytesIO(content))
    assert table.schema.field("date").type == pa.timestamp("us", tz="Asia/Tokyo")
    assert sorted(table.column("date").to_pylist()) == sorted(r.time for r in rows)
    assert set(table.column("subject").to_pylist()) == {"会議の資料"}
    assert set(table.column("size_kb").to_pylist()) == {2.0}


def _stuck_task(tenant_id: str, started: datetime) -> ExportTaskRecord:
    """A task that took a quota slot and whose worker never finished it (its job died)."""
    store = ExportStore(resources.EXPORTS.local_name)
    assert store.take_quota(tenant_id, started.date(), 5)
    task = ExportTaskRecord(
        tenant_id=tenant_id,
        task_id=str(uuid.uuid4()),
        created_at=started,
        format="csv",
        file_name="stuck.csv.zip",
        object_key=f"{tenant_id}/exports/stuck.csv.zip",
        quota_day=started.date(),
        expires_at=started + timedelta(days=7),
    )
    store.create(task)
    return task


def test_a_task_whose_job_died_is_failed_and_gives_its_slot_back(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a task whose job went to the dead-letter queue hours ago, and one just started
    tenant_id, api = _tenant(gateway, peer)
    now = datetime.now(UTC).replace(hour=12)
    with clock.travel(now):
        dead = _stuck_task(tenant_id, now - timedelta(hours=3))
        young = _stuck_task(tenant_id, now - timedelta(minutes=5))

        # When the tenant looks at its tasks
        status, headers, data = api.exchange("GET", f"/v1/exports/{dead.task_id}")
        _, listed = api.request("GET", "/v1/exports")

    # Then the dead one is failed with a reason, its slot is back; the young one is processing
    task = json.loads(data)
    assert status == 200 and task["status"] == "failed", task
    assert "did not finish" in task["reason"] and task["download_url"] is None
    assert headers["X-Export-Quota-Remaining"] == "4"
    assert {t["task_id"]: t["status"] for t in listed["tasks"]} == {
        dead.task_id: "failed",
        young.task_id: "processing",
    }


def test_the_notify_address_is_sent_the_console_link_when_the_task_completes(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given rows of a tenant, and an address of its own domain to notify
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(tenant_id, 4, datetime.now(UTC) - timedelta(minutes=10))
    _store(rows)
    address = f"admin@{tenant_id}.test"

    # When it exports all rows of its query with notify, in Japanese
    status, _, data = api.exchange(
        "POST",
        "/v1/exports",
        {"query": {"period": _period(rows)}, "notify": address, "locale": "ja"},
    )

    # Then once the task is complete its address receives, from the null sender, the link
    assert status == 202, data
    task_id = json.loads(data)["task_id"]
    assert _finished(api, task_id)["status"] == "complete"
    notices = wait_for(lambda: [m for m in peer.received if address in m.rcpt_tos], timeout=60)
    message = email.message_from_bytes(notices[0].data, policy=email.policy.default)
    assert notices[0].mail_from in ("", "<>")
    assert message["Subject"] == "エクスポートが完了しました"
    assert f"/#/exports/{task_id}" in message.get_body().get_content()  # type: ignore[union-attr]
    assert message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize(
    "notify",
    ["someone@elsewhere.test", "admin@example.com", "a@b.test\r\nBcc: x@evil.test", "not-mail"],
)
def test_notify_is_refused_unless_an_address_of_the_tenants_domains(
    gateway: Gateway, peer: ScriptedServer, notify: str
) -> None:
    _, api = _tenant(gateway, peer)

    status, headers, data = api.exchange(
        "POST", "/v1/exports", {"query": {"period": "1h"}, "notify": notify}
    )

    assert status == 400, data
    assert json.loads(data)["error"]["code"] == "invalid_request"
    assert headers["X-Export-Quota-Remaining"] == "5"  # a refused request takes no slot


# About 27 minutes, more on a busy machine: the emulator stores about 500,000 items (each row
# with its index items) and reads the whole table for each day's query.
@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_export_all_stops_at_50000_rows(gateway: Gateway, peer: ScriptedServer) -> None:
    # Given a tenant with 50,001 rows over 56 days: under a thousand a day, so that the worker
    # reads each day in one query (each query of the emulator's index reads the whole table)
    tenant_id, api = _tenant(gateway, peer)
    rows = _rows(
        tenant_id, 50_001, datetime.now(UTC) - timedelta(days=56), every=timedelta(seconds=96)
    )
    _store(rows)

    # When it exports them all
    status, _, started = _start(api, period=_period(rows), sort="asc")
    assert status == 202, started

    # Then the file holds the first 50,000 and the task says more were left
    # (the wait is generous: the worker's time is the emulator's, which varies with the machine)
    task = _finished(api, started["task_id"], timeout=2400)
    assert task["status"] == "complete", task
    assert (task["rows"], task["truncated"]) == (50_000, True)
    _, content = _unzipped(_download(task["download_url"])[1])
    records = _records(content)[1:]
    assert len(records) == 50_000
    assert records[-1][4] == "r49999@example.com"


def test_the_sixth_export_of_a_day_is_refused_in_the_requested_language(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a tenant that used four of its five exports today
    _, api = _tenant(gateway, peer)
    for _ in range(4):
        assert _start(api, period="1h")[0] == 202

    # When two requests race for the fifth
    results: list[int] = []
    barrier = threading.Barrier(2)

    def race() -> None:
        barrier.wait()
        results.append(_start(api, period="1h")[0])

    threads = [threading.Thread(target=race) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Then one wins and one is refused, and every later call is refused in its language
    assert sorted(results) == [202, 429]
    status, headers, body = _start(api, "ja", period="1h")
    assert status == 429
    assert body["error"] == {"code": "export_quota", "message": QUOTA_JA}
    assert headers["X-Export-Quota-Remaining"] == "0"
    assert _start(api, "en", period="1h")[2]["error"]["message"] == QUOTA_EN
    # and selected rows are not counted
    assert (
        api.request(
            "POST", "/v1/exports", {"select": [{"message_uuid": "x", "recipient": "a@b.c"}]}
        )[0]
        == 404
    )


def test_the_quota_starts_again_at_midnight_utc(gateway: Gateway, peer: ScriptedServer) -> None:
    # Given a tenant that used its five exports in the last half minute of a UTC day (the
    # travelled clock goes on ticking: six requests must fit before midnight)
    _, api = _tenant(gateway, peer)
    today = datetime.now(UTC).date()
    midnight = datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1)
    with clock.travel(midnight - timedelta(seconds=30)):
        for _ in range(5):
            assert _start(api, period="1h")[0] == 202
        status, headers, _ = _start(api, period="1h")
        assert status == 429
        assert headers["X-Export-Quota-Reset"] == f"{today + timedelta(days=1)}T00:00:00.000000Z"

    # When the next UTC day begins
    with clock.travel(midnight):
        status, headers, body = _start(api, period="1h")

    # Then it may export again
    assert status == 202, body
    assert headers["X-Export-Quota-Remaining"] == "4"


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ({"log": "events", "query": {"type": "blocked"}}, "Unknown field 'query.type'"),
        ({"log": "events", "query": {"subject": 5}}, "query.subject"),
        ({"log": "events", "select": [{"message_uuid": "a", "recipient": "a@b.c"}]}, "event ids"),
        ({"select": ["an-event-id"]}, "message_uuid and recipient pairs"),
        ({"time_zone": "Mars/Olympus"}, "IANA"),
        ({"time_zone": "../../etc/passwd"}, "IANA"),
        ({"locale": "fr"}, "locale"),
        ({"select": []}, "select"),
        ({"select": [{"message_uuid": "../x", "recipient": "a@b.c"}]}, "message_uuid"),
        ({"format": "xlsx"}, "format"),
        ({"format": "parquet", "select": [{"message_uuid": "a", "recipient": "a@b.c"}]}, "null"),
        ({"query": {"statuses": ["delivered"], "type": "blocked"}}, "statuses"),
    ],
)
def test_bad_export_requests_are_400_with_a_sentence(
    gateway: Gateway, body: dict[str, Any], says: str
) -> None:
    status, headers, data = gateway.api.exchange("POST", "/v1/exports", body)

    error = json.loads(data)["error"]
    assert status == 400 and error["code"] == "invalid_request", error
    assert says in error["message"]
    assert "X-Export-Quota-Remaining" in headers


def _events(tenant_id: str, count: int, start: datetime) -> list[PolicyEvent]:
    events = [
        PolicyEvent(
            tenant_id=tenant_id,
            event_id=f"{uuid.uuid4()}-2-1-001",
            message_uuid=str(uuid.uuid4()),
            time=start + timedelta(seconds=n),
            received_at=start + timedelta(seconds=n - 1),
            direction=Direction.INBOUND,
            sender="alice@sender.test",
            recipients=[f"r{n}@example.com", "bob@example.com"],
            header_to=["Bob Smith <bob@example.com>"],
            subject="至急: 請求書",
            size=4096,
            rule_name="Graymail",
            threat_type=ThreatType.GRAYMAIL,
            subtype="bulk",
            action=PolicyAction.QUARANTINE,
        )
        for n in range(count)
    ]
    PolicyEventStore(resources.POLICY.local_name).add(events)
    return events


def test_selected_events_are_the_event_log_file_and_another_tenants_are_not_found(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given events of a tenant, one with a subject a spreadsheet would run, and another's event
    tenant_id, api = _tenant(gateway, peer)
    theirs_id, _ = _tenant(gateway, peer)
    start = datetime.now(UTC) - timedelta(minutes=5)
    mine = _events(tenant_id, 2, start)
    hostile = _events(tenant_id, 1, start + timedelta(seconds=10))[0]
    PolicyEventStore(resources.POLICY.local_name).add(
        [hostile.model_copy(update={"event_id": "x-formula", "subject": "@SUM(A1)"})]
    )
    (theirs,) = _events(theirs_id, 1, start)
    select = [e.event_id for e in mine] + ["x-formula", theirs.event_id]
    body = {"log": "events", "select": select, "time_zone": "Asia/Tokyo"}

    # When it exports them in Japanese and in English
    status, headers, data = api.exchange("POST", "/v1/exports", body | {"locale": "ja"})
    en_status, _, en_data = api.exchange("POST", "/v1/exports", body | {"locale": "en"})
    alone = api.request("POST", "/v1/exports", body | {"select": [theirs.event_id]})

    # Then the file is event_log.csv, its own events newest first, labels in each locale
    assert (status, en_status) == (200, 200), data
    assert headers["Content-Disposition"] == 'attachment; filename="event_log.csv"'
    header, *records = _records(data)
    assert header[:4] == ["日時", "送信者", "受信者", "脅威の種類"]
    assert [r[8] for r in records] == ["'@SUM(A1)", "至急: 請求書", "至急: 請求書"]
    newest = mine[1]
    assert records[1][0] == newest.time.astimezone(TOKYO).strftime("%Y-%m-%d %H:%M:%S")
    assert records[1][2] == "r1@example.com、Bob Smith <bob@example.com>"
    assert records[1][3:5] == ["グレーメール", "バルクメールメッセージ"]
    assert records[1][7] == "隔離"
    en = _records(en_data)[2]
    assert en[2] == "r1@example.com, Bob Smith <bob@example.com>"
    assert en[3:5] == ["Graymail", "Bulk email messages"]
    assert en[10] == "4"

    # And the other tenant's event, selected alone, is not found
    assert alone[0] == 404 and alone[1]["error"]["code"] == "rows_not_found"


def test_export_all_events_writes_the_events_of_the_query(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given a few events of a tenant, one of another rule
    tenant_id, api = _tenant(gateway, peer)
    start = datetime.now(UTC) - timedelta(minutes=10)
    events = _events(tenant_id, 4, start)
    PolicyEventStore(resources.POLICY.local_name).add(
        [events[0].model_copy(update={"event_id": "other-rule", "rule_name": "Other"})]
    )
    period = {
        "start": (start - timedelta(seconds=5)).isoformat(),
        "end": (start + timedelta(minutes=1)).isoformat(),
    }

    # When it exports all events of its rule "Graymail", oldest first
    status, _, data = api.exchange(
        "POST",
        "/v1/exports",
        {
            "log": "events",
            "query": {"period": period, "rule_names": ["graymail"], "sort": "asc"},
            "locale": "en",
        },
    )

    # Then the task completes with those events in a zipped event log
    started = json.loads(data)
    assert status == 202, started
    task = _finished(api, started["task_id"])
    assert task["status"] == "complete" and task["rows"] == 4, task
    _, content = _unzipped(_download(task["download_url"])[1])
    header, *records = _records(content)
    assert header[-1] == "Violating file"
    assert [r[2].split(", ")[0] for r in records] == [f"r{n}@example.com" for n in range(4)]
    assert {r[12] for r in records} == {"Graymail"}
