"""The scan stage with in-memory stores: what each decision leaves behind, and that a scan run
twice (or a release) writes everything once."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from typing import Any

import pytest

from functions.scan.actions import Applier
from functions.scan.evidence.graymail import Graymail
from functions.scan.evidence.spam import SpamProducer
from functions.scan.evidence.verdicts import Producer
from functions.scan.evidence.virus import VirusProducer
from functions.scan.stage import EnginesUnavailable, RowsNotWritten, ScanStage
from mailgate.catalog import Direction, Status, ThreatType
from mailgate.engines.clamd import ClamdClient
from mailgate.engines.rspamd import RspamdClient
from mailgate.jobs import DeliverJob, ScanJob
from mailgate.origination import Originator
from mailgate.policy import rules as r
from mailgate.policy.records import QuarantineState
from mailgate.records import TrackingRow
from mailgate.tenant_config import Domain, MailServer, SenderFilter, TenantConfig
from tests.support.fakes import (
    FakeDomains,
    FakeMail,
    FakePolicyEvents,
    FakeQuarantine,
    FakeQueue,
    FakeTracking,
)
from tests.support.fixtures import eml

TENANT = "acme"
BOB = "bob@acme.example"
KEY = "acme/mail/2026/11/30/m1.eml"


def raw_message(subject: str = "Your invoice", attachment: bytes | None = None) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Alice <alice@sender.example>"
    mail["To"] = BOB
    mail["Subject"] = subject
    mail.set_content("Hello.\n")
    if attachment is not None:
        mail.add_attachment(
            attachment, maintype="application", subtype="octet-stream", filename="tool.txt"
        )
    return mail.as_bytes()


class World:
    def __init__(
        self,
        rules: list[r.Rule],
        raw: bytes,
        producers: Sequence[Producer] = (),
        **config: Any,
    ) -> None:
        self.config = TenantConfig(policies=r.Policies(inbound=rules), **config)
        self.mail = FakeMail({KEY: raw})
        self.tracking = FakeTracking(
            [
                TrackingRow(
                    tenant_id=TENANT,
                    message_uuid="m1",
                    recipient=BOB,
                    time=datetime.now(UTC),
                    direction=Direction.INBOUND,
                    sender="alice@sender.example",
                    sender_ip="192.0.2.1",
                    mail_key=KEY,
                )
            ]
        )
        self.deliver = FakeQueue()
        self.events = FakePolicyEvents()
        self.quarantine = FakeQuarantine()
        domains = FakeDomains(
            [Domain(name="acme.example", tenant_id=TENANT, inbound_servers=[MailServer(host="mx")])]
        )
        applier = Applier(
            self.tracking,
            self.mail,
            self.deliver,
            self.events,
            self.quarantine,
            Originator(self.mail, self.tracking, self.deliver, domains),
        )
        self.stage = ScanStage(self.tracking, self.mail, lambda _: self.config, producers, applier)

    def job(self, **fields: Any) -> ScanJob:
        defaults: dict[str, Any] = {
            "tenant_id": TENANT,
            "message_uuid": "m1",
            "direction": Direction.INBOUND,
            "mail_key": KEY,
            "sender": "alice@sender.example",
            "recipients": [BOB],
            "received_at": datetime.now(UTC),
            "sender_ip": "192.0.2.1",
        }
        return ScanJob(**(defaults | fields))

    def status(self, recipient: str = BOB) -> Status | None:
        return self.tracking.rows[TENANT, "m1", recipient].status

    def jobs(self) -> list[DeliverJob]:
        return [job for job, _ in self.deliver.sent if isinstance(job, DeliverJob)]

    def timeline(self, message_uuid: str = "m1") -> list[str]:
        return [e.detail for e in self.tracking.timeline(TENANT, message_uuid)]


def rule(name: str, **actions: Any) -> r.Rule:
    return r.Rule(
        id=name.lower().replace(" ", "-"),
        name=name,
        category=r.RuleCategory.CONTENT,
        conditions=[r.SubjectKeywords(keywords=r.Keywords(values=["invoice"]))],
        actions=r.Actions(**actions),
    )


def test_no_rule_matching_queues_delivery_of_the_original() -> None:
    world = World([], raw_message())
    world.stage.run(world.job())
    (job,) = world.jobs()
    assert (job.mail_key, job.recipients) == (KEY, [BOB])
    assert world.timeline() == ["no policy rule applies to this message"]


def test_quarantine_indexes_the_message_and_a_second_run_changes_nothing() -> None:
    world = World([rule("Hold", intercept=r.QuarantineIt())], raw_message())
    world.stage.run(world.job())
    world.stage.run(world.job())
    assert world.status() is Status.QUARANTINED
    entry = world.quarantine.entries[TENANT, "m1"]
    assert (entry.rule_name, entry.state, entry.threat_type) == (
        "Hold",
        QuarantineState.QUARANTINED,
        "content",
    )
    assert world.jobs() == [] and len(world.events.events) == 1


def test_a_quarantined_graymail_message_keeps_its_subtype() -> None:
    # Bulk re-delivery (seed 003) selects quarantined messages by threat type and subtype.
    graymail = r.Rule(
        id="graymail",
        name="Graymail",
        category=r.RuleCategory.SPAM,
        conditions=[r.ThreatCondition(threat=ThreatType.GRAYMAIL)],
        actions=r.Actions(intercept=r.QuarantineIt()),
    )
    world = World([graymail], eml("graymail-bulk"), producers=[Graymail()])
    world.stage.run(world.job())
    entry = world.quarantine.entries[TENANT, "m1"]
    assert (entry.threat_type, entry.subtype) == (ThreatType.GRAYMAIL, "bulk")


def test_a_release_runs_the_later_rules_delivers_and_finishes_the_release() -> None:
    world = World(
        [rule("Hold", intercept=r.QuarantineIt()), rule("Tag", tag_subject="[ok]")], raw_message()
    )
    world.stage.run(world.job())
    assert world.quarantine.begin_release(TENANT, "m1", "ops-key", datetime.now(UTC))
    release = world.job(resume_after_rule="hold", released_by="ops-key")
    world.stage.run(release)
    world.stage.run(release)
    (job,) = {j.mail_key: j for j in world.jobs()}.values()
    assert job.released_by == "ops-key"
    delivered = message_from_bytes(world.mail.get(job.mail_key), policy=default)
    assert delivered["Subject"] == "[ok] Your invoice"
    assert "released from quarantine by administrator ops-key" in world.timeline()
    assert world.quarantine.entries[TENANT, "m1"].state is QuarantineState.RELEASED


def test_delete_ends_the_message_and_removes_the_stored_copy() -> None:
    world = World([rule("Drop", intercept=r.Delete())], raw_message())
    world.stage.run(world.job())
    assert world.status() is Status.DELETED
    assert KEY not in world.mail.objects
    world.stage.run(world.job())  # a repeated job finds the rows final and stops
    assert world.jobs() == []


def test_strip_keeps_the_original_and_records_the_attachment_deleted() -> None:
    program = b"MZ\x90\x00" + b"\x00" * 60 + b"PE\x00\x00" + b"\x00" * 100
    stripping = r.Rule(
        id="exe",
        name="Exe",
        category=r.RuleCategory.CONTENT,
        conditions=[r.AttachmentTrueType(extensions=["exe"])],
        actions=r.Actions(strip_attachments=True),
    )
    world = World([stripping], raw_message(attachment=program))
    world.stage.run(world.job())
    (job,) = world.jobs()
    assert job.mail_key != KEY and KEY in world.mail.objects
    delivered = message_from_bytes(world.mail.get(job.mail_key), policy=default)
    assert [p.get_filename() for p in delivered.iter_attachments()] != ["tool.txt"]
    (attachment,) = world.tracking.rows[TENANT, "m1", BOB].attachments
    assert (attachment.name, attachment.status) == ("tool.txt", "deleted")


def test_change_recipient_ends_the_old_row_and_adds_the_new_one() -> None:
    audit = "audit@acme.example"
    world = World(
        [rule("Redirect", intercept=r.ChangeRecipient(recipients=[audit]))], raw_message()
    )
    world.stage.run(world.job())
    assert world.status() is Status.REDIRECTED
    assert world.status(audit) is Status.PROCESSING
    (job,) = world.jobs()
    assert job.recipients == [audit]


def test_deliver_now_names_the_server_on_the_job() -> None:
    server = MailServer(host="backup.acme.example", port=2525)
    world = World([rule("Now", intercept=r.DeliverNow(server=server))], raw_message())
    world.stage.run(world.job())
    (job,) = world.jobs()
    assert job.deliver_to == server


def test_notifications_and_bcc_are_tracked_messages_sent_once() -> None:
    notice = r.Notification(to=["admin@acme.example", "%SENDER%"], subject="%RULENAME%")
    world = World([rule("Watch", notify=[notice], bcc=["copy@elsewhere.example"])], raw_message())
    world.stage.run(world.job())
    world.stage.run(world.job())
    originated = {
        (job.message_uuid, job.direction): job.recipients
        for job in world.jobs()
        if job.message_uuid != "m1"
    }
    by_direction = sorted((d, tuple(rcpts)) for (_, d), rcpts in originated.items())
    assert by_direction == [
        (Direction.INBOUND, ("admin@acme.example",)),
        (Direction.OUTBOUND, ("alice@sender.example",)),
        (Direction.OUTBOUND, ("copy@elsewhere.example",)),
    ]
    rows = [key for key in world.tracking.rows if key[1] != "m1"]
    assert len(rows) == 3  # one row each, not two after the repeated scan


def test_approved_senders_skip_the_spam_rules() -> None:
    world = World(
        [SPAM_RULE],
        raw_message(),
        producers=[RSPAMD_DOWN],  # not asked: no retry, no engine failure
        sender_filter=SenderFilter(approved_senders=["*@sender.example"]),
    )
    world.stage.run(world.job(), last_attempt=False)
    assert world.timeline() == ["Spam: skipped (approved sender)"]
    assert len(world.jobs()) == 1 and world.events.events == {}


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xff\xfe garbage without headers",
        b"Subject: =?utf-8?B?!!!?=\r\nContent-Type: multipart/mixed\r\n\r\nno boundary",
    ],
)
def test_any_bytes_are_scanned_and_delivered(raw: bytes) -> None:
    world = World([rule("Hold", intercept=r.QuarantineIt())], raw)
    world.stage.run(world.job())
    assert len(world.jobs()) == 1


def test_a_later_rule_quarantining_a_released_message_holds_it_again_under_that_rule() -> None:
    world = World(
        [rule("Hold", intercept=r.QuarantineIt()), rule("Hold again", intercept=r.QuarantineIt())],
        raw_message(),
    )
    world.stage.run(world.job())
    assert world.quarantine.begin_release(TENANT, "m1", "ops-key", datetime.now(UTC))
    world.stage.run(world.job(resume_after_rule="hold", released_by="ops-key"))
    entry = world.quarantine.entries[TENANT, "m1"]
    assert (entry.rule_name, entry.state) == ("Hold again", QuarantineState.QUARANTINED)
    assert world.status() is Status.QUARANTINED and world.jobs() == []


VIRUS_RULE = r.Rule(
    id="virus",
    name="Virus",
    category=r.RuleCategory.VIRUS,
    conditions=[r.ThreatCondition(threat=ThreatType.MALWARE)],
    actions=r.Actions(intercept=r.QuarantineIt()),
)
SPAM_RULE = r.Rule(
    id="spam",
    name="Spam",
    category=r.RuleCategory.SPAM,
    conditions=[r.ThreatCondition(threat="spam", level="high")],
    actions=r.Actions(intercept=r.QuarantineIt()),
)
# Nothing listens on port 1 of loopback: each engine's connection is refused at once.
CLAMD_DOWN = VirusProducer(ClamdClient("127.0.0.1:1", 0.5, 10**6))
RSPAMD_DOWN = SpamProducer(RspamdClient("http://127.0.0.1:1", 0.5), "rules")


def test_an_engine_down_delays_the_job_until_its_last_attempt_then_the_catalog_rule_applies() -> (
    None
):
    world = World([VIRUS_RULE], raw_message(), producers=[CLAMD_DOWN])

    with pytest.raises(EnginesUnavailable, match="clamd"):
        world.stage.run(world.job(), last_attempt=False)
    assert world.status() is Status.PROCESSING and world.events.events == {}

    world.stage.run(world.job(), last_attempt=True)
    assert world.status() is Status.QUARANTINED
    (event,) = world.events.events.values()
    assert (event.threat_type, event.subtype) == ("scan_exclusion", "other_exclusion")
    assert "clamd at 127.0.0.1:1" in event.details["engine"]


@pytest.mark.parametrize(("age_s", "retry_s"), [(0, 2), (30, 90)])
def test_a_job_without_rows_waits_for_the_front_to_write_them(age_s: int, retry_s: int) -> None:
    world = World([], raw_message())
    world.tracking.rows.clear()
    received = datetime.now(UTC) - timedelta(seconds=age_s)
    with pytest.raises(RowsNotWritten) as waiting:
        world.stage.run(world.job(received_at=received))
    assert abs(waiting.value.retry_s - retry_s) <= 1
    assert world.tracking.rows == {} and world.jobs() == []


def test_rows_the_front_writes_while_the_message_is_examined_are_used_without_a_retry() -> None:
    world = World([], raw_message())
    written = dict(world.tracking.rows)
    world.tracking.rows.clear()
    read_mail = world.mail.get

    def front_writes_rows_meanwhile(key: str) -> bytes:
        world.tracking.rows.update(written)
        return read_mail(key)

    world.mail.get = front_writes_rows_meanwhile  # type: ignore[method-assign]
    world.stage.run(world.job(received_at=datetime.now(UTC)))
    (job,) = world.jobs()
    assert job.recipients == [BOB]
    assert "rows written by scan" not in " ".join(world.timeline())


def test_rows_a_busy_front_writes_a_little_after_the_engines_answer_are_waited_for() -> None:
    world = World([], raw_message())
    written = dict(world.tracking.rows)
    world.tracking.rows.clear()
    read_statuses = world.tracking.statuses
    reads = 0

    def front_writes_rows_on_the_fourth_read(*args: Any) -> dict[str, Status | None]:
        nonlocal reads
        reads += 1
        if reads == 4:
            world.tracking.rows.update(written)
        return read_statuses(*args)

    world.tracking.statuses = front_writes_rows_on_the_fourth_read  # type: ignore[method-assign,assignment]
    world.stage.run(world.job(received_at=datetime.now(UTC)))
    assert reads == 4 and len(world.jobs()) == 1


def test_a_job_whose_front_died_before_its_rows_gets_them_from_scan_and_goes_on() -> None:
    world = World([], raw_message())
    world.tracking.rows.clear()
    received = datetime.now(UTC) - timedelta(minutes=3)
    world.stage.run(world.job(received_at=received, upstream_tls="TLSv1.3", helo="mx.sender"))
    row = world.tracking.rows[TENANT, "m1", BOB]
    assert (row.time, row.subject, row.upstream_tls, row.sender_ip) == (
        received,
        "Your invoice",
        "TLSv1.3",
        "192.0.2.1",
    )
    assert world.timeline()[0] == (
        "from 192.0.2.1 (mx.sender); rows written by scan: the front stopped before writing them"
    )
    (job,) = world.jobs()
    assert job.recipients == [BOB]


@pytest.mark.parametrize(
    "rules",
    [
        [],
        [VIRUS_RULE.model_copy(update={"enabled": False})],
        [rule("Invoices", intercept=r.QuarantineIt())],
    ],
    ids=["no rule", "virus rule disabled", "a content rule"],
)
def test_an_engine_down_that_no_enabled_rule_reads_does_not_delay_the_job(
    rules: list[r.Rule],
) -> None:
    world = World(rules, raw_message("Lunch"), producers=[CLAMD_DOWN, RSPAMD_DOWN])
    world.stage.run(world.job(), last_attempt=False)
    assert len(world.jobs()) == 1
    assert world.events.events == {}


def test_a_message_over_clamds_limit_gets_the_catalog_rule_at_once_without_a_retry() -> None:
    small = VirusProducer(ClamdClient("127.0.0.1:1", 0.5, max_bytes=100))
    world = World([VIRUS_RULE], raw_message(), producers=[small])
    world.stage.run(world.job(), last_attempt=False)
    assert world.status() is Status.QUARANTINED
    (event,) = world.events.events.values()
    assert (event.rule_name, event.subtype) == ("Virus", "other_exclusion")
    assert "over clamd's limit of 100" in event.details["engine"]
