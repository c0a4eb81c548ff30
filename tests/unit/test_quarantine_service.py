"""The quarantine over in-memory stores: search shows what is still quarantined; release and
delete answer per message, change each message once, and undo a release that could not be
queued."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from functions.query import quarantine_service
from functions.query.quarantine_service import QuarantineService
from mailgate.api.errors import NotFound
from mailgate.api.models import QuarantineAction, QuarantineSearch
from mailgate.api.resolver import Caller
from mailgate.catalog import Direction, Status, ThreatType
from mailgate.jobs import ScanJob
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.records import TrackingRow
from mailgate.search.cursor import CursorSigner
from tests.support.fakes import FakeMail, FakeQuarantine, FakeQueue, FakeTracking

TENANT = "tenant-a"
ADMIN = Caller(TENANT, "ops-key")
NOW = datetime.now(UTC)


def entry(n: int, **fields: Any) -> QuarantineEntry:
    values: dict[str, Any] = {
        "tenant_id": TENANT,
        "message_uuid": f"m-{n}",
        "time": NOW - timedelta(minutes=n),
        "received_at": NOW - timedelta(minutes=n, seconds=3),
        "direction": Direction.INBOUND,
        "sender": "news@shop.example",
        "recipients": ["john@example.com", "mary@example.com"],
        "sender_ip": "192.0.2.7",
        "subject": f"offer {n}",
        "rule_id": "rule-spam",
        "rule_name": "Spam or Phish",
        "threat_type": ThreatType.SPAM,
        "mail_key": f"{TENANT}/mail/m-{n}.eml",
    }
    return QuarantineEntry.model_validate(values | fields)


class BrokenQueue:
    def send(self, job: BaseModel, delay_s: int = 0) -> None:
        raise ConnectionError("queue unreachable")


class World:
    def __init__(self, *entries: QuarantineEntry) -> None:
        self.quarantine = FakeQuarantine(entries)
        self.tracking = FakeTracking(
            TrackingRow(
                tenant_id=e.tenant_id,
                message_uuid=e.message_uuid,
                recipient=recipient,
                time=e.received_at,
                direction=e.direction,
                sender=e.sender,
                sender_ip=e.sender_ip,
                status=Status.QUARANTINED,
            )
            for e in entries
            for recipient in e.recipients
        )
        self.mail = FakeMail({e.mail_key: b"Subject: x\r\n\r\n" for e in entries})
        self.queue = FakeQueue()
        self.service = QuarantineService(
            self.quarantine, self.tracking, self.mail, self.queue, CursorSigner(b"k" * 32)
        )

    def state(self, message_uuid: str, tenant: str = TENANT) -> QuarantineState:
        found = self.quarantine.entry(tenant, message_uuid)
        assert found is not None
        return found.state


def uuids(*values: str) -> QuarantineAction:
    return QuarantineAction(message_uuids=list(values))


def results(report: Any) -> dict[str, str]:
    return {r.message_uuid: r.result for r in report.results}


def test_search_lists_only_messages_still_quarantined() -> None:
    world = World(
        entry(1),
        entry(2, state=QuarantineState.RELEASED),
        entry(3, threat_type=ThreatType.MALWARE, rule_name="Virus"),
        entry(4, state=QuarantineState.DELETED),
        entry(5, tenant_id="tenant-b"),
    )

    def found(**query: Any) -> list[str]:
        page = world.service.search(TENANT, QuarantineSearch.model_validate(query))
        return [item.message_uuid for item in page.items]

    assert found(period="1h") == ["m-1", "m-3"]
    assert found(period="1h", reasons=["malware"]) == ["m-3"]
    assert found(period="1h", rule_names=["spam OR phish"]) == ["m-1"]
    assert found(period="1h", recipients=["mary@*"], subject="offer 3") == ["m-3"]


def test_items_name_the_threat_subtype_of_the_detection() -> None:
    world = World(entry(1, threat_type=ThreatType.GRAYMAIL, subtype="marketing"), entry(2))
    page = world.service.search(TENANT, QuarantineSearch.model_validate({"period": "1h"}))
    assert [(item.reason, item.subtype) for item in page.items] == [
        (ThreatType.GRAYMAIL, "marketing"),
        (ThreatType.SPAM, ""),
    ]


def test_release_queues_a_scan_job_that_resumes_after_the_rule() -> None:
    world = World(entry(1))

    report = world.service.release(ADMIN, uuids("m-1"))

    assert results(report) == {"m-1": "released"}
    [(job, _)] = world.queue.sent
    assert isinstance(job, ScanJob)
    assert (job.resume_after_rule, job.released_by) == ("rule-spam", "ops-key")
    assert job.recipients == ["john@example.com", "mary@example.com"]
    assert (job.mail_key, job.sender_ip) == (f"{TENANT}/mail/m-1.eml", "192.0.2.7")
    detail = world.service.detail(TENANT, "m-1")
    assert (detail.state, detail.released_by) == (QuarantineState.RELEASING, "ops-key")


def test_messages_not_in_quarantine_are_answered_one_by_one() -> None:
    world = World(entry(1), entry(2), entry(3, tenant_id="tenant-b"))
    world.service.delete(ADMIN, uuids("m-2"))
    world.service.release(ADMIN, uuids("m-1"))

    report = world.service.release(ADMIN, uuids("m-1", "m-2", "m-3", "m-404", "m-1"))
    deleting = world.service.delete(ADMIN, uuids("m-1", "m-2"))

    assert results(report) == {
        "m-1": "already_released",
        "m-2": "already_deleted",
        "m-3": "not_found",  # another tenant's
        "m-404": "not_found",
    }
    assert len(report.results) == 4  # a repeated id is answered once
    assert results(deleting) == {"m-1": "already_released", "m-2": "already_deleted"}
    assert len(world.queue.sent) == 1
    assert world.state("m-3", "tenant-b") is QuarantineState.QUARANTINED


def test_concurrent_releases_queue_one_job() -> None:
    world = World(entry(1))
    barrier = threading.Barrier(8)
    answers: list[str] = []

    def release() -> None:
        barrier.wait()
        answers.extend(results(world.service.release(ADMIN, uuids("m-1"))).values())

    threads = [threading.Thread(target=release) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(answers) == ["already_released"] * 7 + ["released"]
    assert len(world.queue.sent) == 1


def test_a_release_that_cannot_be_queued_stays_in_quarantine() -> None:
    world = World(entry(1))
    world.service = QuarantineService(
        world.quarantine, world.tracking, world.mail, BrokenQueue(), CursorSigner(b"k" * 32)
    )

    report = world.service.release(ADMIN, uuids("m-1"))

    assert results(report) == {"m-1": "failed"}
    assert world.state("m-1") is QuarantineState.QUARANTINED
    assert world.service.detail(TENANT, "m-1").released_by == ""


def test_delete_removes_the_message_and_marks_its_rows() -> None:
    world = World(entry(1), entry(2))

    report = world.service.delete(ADMIN, uuids("m-1"))

    assert results(report) == {"m-1": "deleted"}
    assert f"{TENANT}/mail/m-1.eml" not in world.mail.objects
    assert f"{TENANT}/mail/m-2.eml" in world.mail.objects
    rows, events = world.tracking.message(TENANT, "m-1")
    assert {row.status for row in rows} == {Status.DELETED}
    assert [e.detail for e in events] == ["deleted from quarantine by ops-key"]
    assert world.tracking.message(TENANT, "m-2")[0][0].status is Status.QUARANTINED
    detail = world.service.detail(TENANT, "m-1")
    assert (detail.state, detail.deleted_by) == (QuarantineState.DELETED, "ops-key")
    assert results(world.service.release(ADMIN, uuids("m-1"))) == {"m-1": "already_deleted"}


def test_bulk_release_by_query_says_how_many_remain(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quarantine_service, "MAX_BULK_MESSAGES", 3)
    world = World(
        *(entry(n) for n in range(1, 6)),
        entry(6, threat_type=ThreatType.MALWARE),
        entry(7, tenant_id="tenant-b"),
    )
    bulk = QuarantineAction.model_validate({"query": {"period": "1h", "reasons": ["spam"]}})

    first = world.service.release(ADMIN, bulk)
    second = world.service.release(ADMIN, bulk)
    third = world.service.release(ADMIN, bulk)

    assert results(first) == {f"m-{n}": "released" for n in (1, 2, 3)}
    assert (first.remaining, first.remaining_more) == (2, False)
    assert results(second) == {"m-4": "released", "m-5": "released"}
    assert (second.remaining, third.results) == (0, [])
    assert world.state("m-6") is QuarantineState.QUARANTINED
    assert world.state("m-7", "tenant-b") is QuarantineState.QUARANTINED
    assert len(world.queue.sent) == 5


def test_detail_of_another_tenants_message_is_not_found() -> None:
    world = World(entry(1, tenant_id="tenant-b"))

    with pytest.raises(NotFound):
        world.service.detail(TENANT, "m-1")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"message_uuids": []},
        {"message_uuids": ["m-1"], "query": {"period": "1h"}},
        {"message_uuids": [f"m-{n}" for n in range(1001)]},
        {"query": {"reasons": ["virus"]}},
    ],
)
def test_action_bodies_outside_the_rules_are_refused(body: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        QuarantineAction.model_validate(body)
