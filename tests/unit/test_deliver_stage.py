"""Stage 3 with fakes for its stores, queue, SMTP client and MX lookup: each recipient's
outcome becomes its status, and only temporary failures are retried, until the queue lifetime
ends."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.deliver.routing import Server
from functions.deliver.smtp_client import NOT_CONNECTED, Attempt, Reply
from functions.deliver.stage import DeliverStage
from functions.deliver.tls_policy import OPPORTUNISTIC, TlsPolicy
from mailgate import dns
from mailgate.catalog import Direction, Status
from mailgate.jobs import DeliverJob
from mailgate.origination import Originator
from mailgate.records import TimelineEvent, TrackingRow
from mailgate.tenant_config import Domain, MailServer, OutboundTlsPeer, TenantConfig
from tests.support.fakes import FakeConfigs, FakeDomains, FakeMail, FakeQueue, FakeTracking

TENANT = "tenant-a"
UUID = "3f1c2a9e-0000-4000-8000-000000000001"
MAIL_KEY = f"{TENANT}/mail/2025/06/15/{UUID}.eml"
RAW = b"From: alice@sender.example\r\nSubject: hi\r\n\r\nHello.\r\n"
BOB = "bob@example.com"
CAROL = "carol@example.com"
X = "xavier@other.example"
Y = "yvonne@other.example"
SCHEDULE = [60, 300, 1800]
CLAIM_S = 120
LIFETIME_S = 5 * 24 * 3600
INBOUND = [MailServer(host="10.0.0.25", port=25), MailServer(host="10.0.0.26", port=2525)]
INBOUND_SERVERS = [Server("10.0.0.25", "10.0.0.25", 25), Server("10.0.0.26", "10.0.0.26", 2525)]

OK = Reply(250, "2.0.0 Queued as ABC")
UNKNOWN_USER = Reply(550, "5.1.1 No such user")
GREYLISTED = Reply(451, "4.7.1 Greylisted, try again later")
ATTEMPT_FACTS = (
    "tenant",
    "message_uuid",
    "attempt",
    "client_ip",
    "sender",
    "recipients",
    "size",
    "server",
    "tls",
    "reply",
    "delivered",
    "bounced",
    "deferred",
)


@dataclass
class FakeSmtp:
    """The SMTP client: a scripted reply per recipient (250 unless told otherwise)."""

    replies: dict[str, Reply] = field(default_factory=dict)
    peer_ip: str = "10.0.0.25"
    tls: str = "TLSv1.3"
    cipher: str = "TLS_AES_256_GCM_SHA384"
    calls: list[tuple[list[Server], str, list[str], bytes]] = field(default_factory=list)
    policies: list[TlsPolicy] = field(default_factory=list)

    def __call__(
        self,
        servers: list[Server],
        sender: str,
        recipients: list[str],
        raw: bytes,
        policy: TlsPolicy,
    ) -> Attempt:
        self.calls.append((servers, sender, recipients, raw))
        self.policies.append(policy)
        replies = {r: self.replies.get(r, OK) for r in recipients}
        name = servers[0].name if self.peer_ip else ""
        return Attempt(
            replies=replies, server=name, peer_ip=self.peer_ip, tls=self.tls, cipher=self.cipher
        )

    @property
    def recipients_sent(self) -> list[str]:
        return [r for _, _, recipients, _ in self.calls for r in recipients]


@dataclass
class FakeMx:
    """MX lookups: servers per domain, or the exception the DNS gives for it."""

    answers: dict[str, list[Server] | Exception] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)

    def __call__(self, domain: str) -> list[Server]:
        self.asked.append(domain)
        answer = self.answers[domain]
        if isinstance(answer, Exception):
            raise answer
        return answer


@dataclass
class World:
    tracking: FakeTracking
    tenants: FakeDomains
    configs: FakeConfigs
    mail: FakeMail
    queue: FakeQueue
    smtp: FakeSmtp
    mx: FakeMx
    stage: DeliverStage

    def row(self, recipient: str) -> TrackingRow:
        return self.tracking.rows[TENANT, UUID, recipient]

    def status(self, recipient: str) -> Status | None:
        return self.row(recipient).status

    @property
    def events(self) -> list[TimelineEvent]:
        return self.tracking.events.get((TENANT, UUID), [])

    @property
    def jobs(self) -> list[tuple[DeliverJob, int]]:
        jobs = [(job, delay) for job, delay in self.queue.sent if isinstance(job, DeliverJob)]
        assert len(jobs) == len(self.queue.sent), "only deliver jobs are queued"
        return jobs

    @property
    def sent(self) -> list[tuple[DeliverJob, int]]:
        """Jobs of this message: its retries."""
        return [(job, delay) for job, delay in self.jobs if job.message_uuid == UUID]

    @property
    def reports(self) -> list[DeliverJob]:
        """Jobs of other messages: the delivery status notifications."""
        return [job for job, _ in self.jobs if job.message_uuid != UUID]


def row(recipient: str, status: Status = Status.PROCESSING, **fields: Any) -> TrackingRow:
    return TrackingRow(
        tenant_id=TENANT,
        message_uuid=UUID,
        recipient=recipient,
        time=datetime.now(UTC),
        direction=Direction.INBOUND,
        sender="alice@sender.example",
        sender_ip="198.51.100.7",
        status=status,
        **fields,
    )


def job(
    *recipients: str,
    direction: Direction = Direction.INBOUND,
    attempt: int = 1,
    age: timedelta = timedelta(minutes=1),
    not_before: datetime | None = None,
) -> DeliverJob:
    return DeliverJob(
        tenant_id=TENANT,
        message_uuid=UUID,
        direction=direction,
        mail_key=MAIL_KEY,
        sender="alice@sender.example",
        recipients=list(recipients),
        received_at=datetime.now(UTC) - age,
        sender_ip="198.51.100.7",
        attempt=attempt,
        not_before=not_before,
    )


def world(rows: list[TrackingRow] | None = None, delay_warning_s: int | None = None) -> World:
    """An inbound-ready setup: example.com is managed with two inbound servers."""
    tracking = FakeTracking(rows if rows is not None else [row(BOB), row(CAROL)])
    tenants = FakeDomains([Domain(name="example.com", tenant_id=TENANT, inbound_servers=INBOUND)])
    configs = FakeConfigs()
    mail = FakeMail({MAIL_KEY: RAW})
    queue = FakeQueue()
    smtp = FakeSmtp()
    mx = FakeMx()
    stage = DeliverStage(
        tracking=tracking,
        tenants=tenants,
        configs=configs,
        mail=mail,
        queue=queue,
        send=smtp,
        lookup_mx=mx,
        retry_schedule_s=SCHEDULE,
        queue_lifetime_s=LIFETIME_S,
        hostname="gateway.test",
        claim_s=CLAIM_S,
        originator=Originator(mail, tracking, queue, tenants),
        delay_warning_s=delay_warning_s,
    )
    return World(tracking, tenants, configs, mail, queue, smtp, mx, stage)


@pytest.fixture
def w() -> World:
    return world()


@pytest.fixture
def x() -> World:
    """Rows for recipients at other.example, a domain no tenant manages."""
    return world([row(X), row(Y)])


def test_inbound_mail_is_delivered_to_the_domains_inbound_servers(w: World) -> None:
    # When an inbound job for two recipients of a managed domain runs
    w.stage.run(job(BOB, CAROL))

    # Then one SMTP transaction carries the stored message to the domain's servers
    assert w.smtp.calls == [(INBOUND_SERVERS, "alice@sender.example", [BOB, CAROL], RAW)]

    # And each row is delivered, with where it went and how
    for recipient in (BOB, CAROL):
        delivered = w.row(recipient)
        assert delivered.status is Status.DELIVERED
        assert delivered.delivered_to == "10.0.0.25"
        assert delivered.downstream_tls == "TLSv1.3"
        assert delivered.downstream_reply == "250 2.0.0 Queued as ABC"
    assert w.sent == []
    assert w.mx.asked == [], "inbound mail does not look up MX"


def test_each_attempt_is_on_the_timeline(w: World) -> None:
    w.stage.run(job(BOB))

    [event] = w.events
    assert event.stage == "deliver"
    assert event.event == "delivered"
    assert event.recipient == BOB
    assert (event.server, event.ip) == ("10.0.0.25", "10.0.0.25")
    assert (event.tls, event.cipher) == ("TLSv1.3", "TLS_AES_256_GCM_SHA384")
    assert event.reply == "250 2.0.0 Queued as ABC"
    assert event.next_attempt_at is None
    assert "250 2.0.0 Queued as ABC" in event.detail
    assert "10.0.0.25" in event.detail
    assert w.row(BOB).downstream_cipher == "TLS_AES_256_GCM_SHA384"


def test_a_deferred_attempt_shows_when_the_next_one_is_due(w: World) -> None:
    w.smtp.replies[BOB] = GREYLISTED

    w.stage.run(job(BOB))

    [(retry, _)] = w.sent
    [event] = w.events
    assert event.event == "deferred"
    assert event.next_attempt_at == retry.not_before
    assert event.reply == str(GREYLISTED)
    assert "next attempt at" in event.detail
    assert w.row(BOB).next_attempt_at == retry.not_before


def test_a_later_success_clears_the_next_attempt_time(w: World) -> None:
    w.smtp.replies[BOB] = GREYLISTED
    w.stage.run(job(BOB))
    w.smtp.replies[BOB] = OK

    w.stage.run(job(BOB, attempt=2))

    assert w.status(BOB) is Status.DELIVERED
    assert w.row(BOB).next_attempt_at is None


def test_an_inbound_recipient_of_another_tenants_domain_bounces() -> None:
    w = world([row("zoe@theirs.example")])
    w.tenants.domains["theirs.example"] = Domain(
        name="theirs.example", tenant_id="tenant-b", inbound_servers=INBOUND
    )

    w.stage.run(job("zoe@theirs.example"))

    assert w.status("zoe@theirs.example") is Status.BOUNCED
    assert w.smtp.calls == []


def test_outbound_mail_to_a_domain_of_the_same_tenant_goes_to_its_inbound_servers(
    w: World,
) -> None:
    w.stage.run(job(BOB, direction=Direction.OUTBOUND))

    assert w.mx.asked == [], "its MX would lead back to the gateway"
    assert [servers for servers, _, _, _ in w.smtp.calls] == [INBOUND_SERVERS]
    assert w.status(BOB) is Status.DELIVERED


def test_each_attempt_is_one_log_line_with_its_facts_and_replies(
    w: World, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    w.smtp.replies[BOB] = UNKNOWN_USER

    w.stage.run(job(BOB, CAROL, attempt=2))

    (line,) = [r for r in caplog.records if r.getMessage() == "delivery attempt"]
    assert {key: vars(line)[key] for key in ATTEMPT_FACTS} == {
        "tenant": TENANT,
        "message_uuid": UUID,
        "attempt": 2,
        "client_ip": "198.51.100.7",
        "sender": "alice@sender.example",
        "recipients": 2,
        "size": len(RAW),
        "server": "10.0.0.25",
        "tls": "TLSv1.3",
        "reply": "550 5.1.1 No such user | 250 2.0.0 Queued as ABC",
        "delivered": 1,
        "bounced": 1,
        "deferred": 0,
    }
    assert vars(line)["duration_ms"] >= 0
    assert "Subject" not in str(vars(line)) and "Hello." not in str(vars(line))


def test_a_5xx_reply_bounces_the_recipient_and_is_not_retried(w: World) -> None:
    w.smtp.replies[BOB] = UNKNOWN_USER

    w.stage.run(job(BOB, CAROL))

    assert w.status(BOB) is Status.BOUNCED
    assert w.row(BOB).downstream_reply == "550 5.1.1 No such user"
    assert w.row(BOB).delivered_to == "", "a bounced recipient was delivered nowhere"
    assert w.status(CAROL) is Status.DELIVERED
    assert w.sent == []


def test_a_4xx_reply_is_a_temporary_error_retried_once_for_that_recipient_only(
    w: World,
) -> None:
    # Given a server that greylists bob and accepts carol
    w.smtp.replies[BOB] = GREYLISTED
    first = job(BOB, CAROL)

    # When the first attempt runs
    before = datetime.now(UTC)
    w.stage.run(first)
    after = datetime.now(UTC)

    # Then bob is a temporary error, carol delivered
    assert w.status(BOB) is Status.TEMPORARY_ERROR
    assert w.row(BOB).downstream_reply == "451 4.7.1 Greylisted, try again later"
    assert w.status(CAROL) is Status.DELIVERED

    # And exactly one retry is queued: bob only, next attempt, after the first delay
    [(retry, delay)] = w.sent
    assert delay == SCHEDULE[0]
    assert retry.recipients == [BOB]
    assert retry.attempt == 2
    assert retry.not_before is not None
    assert before + timedelta(seconds=60) <= retry.not_before <= after + timedelta(seconds=60)
    assert retry.model_dump(exclude={"recipients", "attempt", "not_before"}) == first.model_dump(
        exclude={"recipients", "attempt", "not_before"}
    )


@pytest.mark.parametrize(
    ("attempt", "delay"),
    [(1, 60), (2, 300), (3, 1800), (4, 1800), (12, 1800)],
)
def test_the_retry_delay_follows_the_schedule_then_repeats_its_last_value(
    w: World, attempt: int, delay: int
) -> None:
    w.smtp.replies[BOB] = GREYLISTED

    w.stage.run(job(BOB, attempt=attempt))

    [(retry, delay_s)] = w.sent
    assert delay_s == delay
    assert retry.attempt == attempt + 1


def test_no_connection_at_all_is_temporary(w: World) -> None:
    w.smtp.replies[BOB] = Reply(NOT_CONNECTED, "could not connect: 10.0.0.25:25: refused")
    w.smtp.peer_ip = ""

    w.stage.run(job(BOB))

    assert w.status(BOB) is Status.TEMPORARY_ERROR
    assert w.row(BOB).downstream_reply == "could not connect: 10.0.0.25:25: refused"
    assert [retry.recipients for retry, _ in w.sent] == [[BOB]]


def test_a_4xx_after_the_queue_lifetime_expires_the_recipient_without_retry(w: World) -> None:
    # Given a message received longer ago than the queue lifetime
    old = job(BOB, attempt=9, age=timedelta(seconds=LIFETIME_S + 60))
    w.smtp.replies[BOB] = GREYLISTED

    # When its last attempt still gets a temporary reply
    w.stage.run(old)

    # Then the recipient has expired and nothing more is queued
    assert w.status(BOB) is Status.EXPIRED
    assert [e.event for e in w.events] == ["expired", "dsn_sent"]
    assert w.sent == []


def test_a_5xx_after_the_queue_lifetime_is_still_a_bounce(w: World) -> None:
    w.smtp.replies[BOB] = UNKNOWN_USER

    w.stage.run(job(BOB, age=timedelta(seconds=LIFETIME_S + 60)))

    assert w.status(BOB) is Status.BOUNCED


def test_a_recipient_already_delivered_is_not_sent_again() -> None:
    # Given a repeated job whose bob was delivered by an earlier run
    w = world([row(BOB, Status.DELIVERED), row(CAROL, Status.TEMPORARY_ERROR)])

    # When it runs again
    w.stage.run(job(BOB, CAROL))

    # Then only carol is sent, and bob's row is left alone
    assert w.smtp.recipients_sent == [CAROL]
    assert [recipient for recipient, _, _ in w.tracking.status_writes] == [CAROL]
    assert w.status(BOB) is Status.DELIVERED


def test_the_final_check_ignores_the_case_of_the_address() -> None:
    w = world([row("Bob@Example.com", Status.BOUNCED)])

    w.stage.run(job("bob@example.com"))

    assert w.smtp.calls == []


def test_a_job_whose_recipients_are_all_final_sends_nothing() -> None:
    w = world([row(BOB, Status.DELIVERED), row(CAROL, Status.EXPIRED)])

    w.stage.run(job(BOB, CAROL))

    assert w.smtp.calls == []
    assert w.events == []
    assert w.sent == []


def test_a_job_not_yet_due_is_requeued_and_nothing_is_sent(w: World) -> None:
    # Given a retry due in an hour (SQS delays at most 15 minutes, so it arrives early)
    due = datetime.now(UTC) + timedelta(hours=1)
    early = job(BOB, attempt=3, not_before=due)

    # When it runs
    w.stage.run(early)

    # Then it goes back to the queue unchanged, for about the time still to wait
    [(requeued, delay)] = w.sent
    assert requeued == early
    assert 3590 <= delay <= 3601
    assert w.smtp.calls == []
    assert w.events == []
    assert w.tracking.status_writes == []


def test_a_job_that_is_due_runs(w: World) -> None:
    w.stage.run(job(BOB, attempt=2, not_before=datetime.now(UTC) - timedelta(seconds=1)))

    assert w.smtp.recipients_sent == [BOB]
    assert w.status(BOB) is Status.DELIVERED


def test_an_inbound_recipient_of_an_unmanaged_domain_bounces_with_5_1_2() -> None:
    # Given a job with a recipient whose domain no tenant manages (any more)
    stray = "dave@gone.example"
    w = world([row(BOB), row(stray)])

    # When it runs
    w.stage.run(job(BOB, stray))

    # Then that recipient bounces with "bad destination system", unsent; bob is delivered
    assert w.status(stray) is Status.BOUNCED
    reply = w.row(stray).downstream_reply
    assert reply.startswith("550 5.1.2 ")
    assert "gone.example" in reply
    assert w.smtp.recipients_sent == [BOB]
    assert w.status(BOB) is Status.DELIVERED
    assert w.sent == []


def test_a_managed_domain_without_inbound_servers_bounces_with_5_1_2() -> None:
    w = world([row("eve@empty.example")])
    w.tenants.domains["empty.example"] = Domain(
        name="empty.example", tenant_id=TENANT, inbound_servers=[]
    )

    w.stage.run(job("eve@empty.example"))

    assert w.status("eve@empty.example") is Status.BOUNCED
    assert w.row("eve@empty.example").downstream_reply.startswith("550 5.1.2 ")
    assert w.smtp.calls == []


def test_outbound_mail_goes_to_the_mx_of_each_recipient_domain() -> None:
    # Given outbound recipients at two external domains
    far, near = "x@far.example", "y@near.example"
    w = world([row(far), row(near)])
    far_mx = [Server("mx.far.example", "192.0.2.10", 25)]
    near_mx = [
        Server("mx.near.example", "192.0.2.20", 25),
        Server("mx.near.example", "192.0.2.21", 25),
    ]
    w.mx.answers = {"far.example": far_mx, "near.example": near_mx}

    # When it runs
    w.stage.run(job(far, near, direction=Direction.OUTBOUND))

    # Then each domain's MX is looked up and gets its own transaction
    assert sorted(w.mx.asked) == ["far.example", "near.example"]
    sent = {tuple(recipients): servers for servers, _, recipients, _ in w.smtp.calls}
    assert sent == {(far,): far_mx, (near,): near_mx}
    assert w.status(far) is Status.DELIVERED
    assert w.status(near) is Status.DELIVERED


def test_outbound_recipients_of_one_domain_share_one_transaction() -> None:
    w = world([row(X), row(Y)])
    w.mx.answers = {"other.example": [Server("mx.other.example", "192.0.2.10", 25)]}

    w.stage.run(job(X, Y, direction=Direction.OUTBOUND))

    assert [recipients for _, _, recipients, _ in w.smtp.calls] == [[X, Y]]


def test_outbound_dns_unavailable_is_a_temporary_error_retried(x: World) -> None:
    x.mx.answers = {"other.example": dns.DnsUnavailable("DNS lookup of other.example failed")}

    x.stage.run(job(X, direction=Direction.OUTBOUND))

    assert x.status(X) is Status.TEMPORARY_ERROR
    assert x.row(X).downstream_reply.startswith("451 4.4.3 ")
    assert x.smtp.calls == []
    [(retry, delay)] = x.sent
    assert (retry.recipients, retry.attempt, delay) == ([X], 2, SCHEDULE[0])


def test_outbound_domain_not_found_bounces(x: World) -> None:
    x.mx.answers = {"other.example": dns.DomainNotFound("other.example does not exist")}

    x.stage.run(job(X, direction=Direction.OUTBOUND))

    assert x.status(X) is Status.BOUNCED
    assert x.row(X).downstream_reply == "550 5.1.2 other.example does not exist"
    assert x.smtp.calls == []
    assert x.sent == []


def test_a_dns_failure_past_the_queue_lifetime_expires(x: World) -> None:
    x.mx.answers = {"other.example": dns.DnsUnavailable("timeout")}

    x.stage.run(job(X, direction=Direction.OUTBOUND, age=timedelta(seconds=LIFETIME_S)))

    assert x.status(X) is Status.EXPIRED
    assert x.sent == []


def test_the_timeline_event_is_written_once_per_attempt_and_recipient(w: World) -> None:
    # Given a first attempt that was greylisted, then a second that was delivered
    w.smtp.replies[BOB] = GREYLISTED
    w.stage.run(job(BOB, attempt=1))
    w.smtp.replies[BOB] = OK
    w.stage.run(job(BOB, attempt=2))

    # Then each attempt has its own, distinct event
    assert [e.event for e in w.events] == ["deferred", "delivered"]
    assert len({e.event_id for e in w.events}) == 2
    assert w.status(BOB) is Status.DELIVERED


def test_mail_to_a_domain_with_no_outbound_tls_peer_is_opportunistic(x: World) -> None:
    x.mx.answers = {"other.example": [Server("mx.other.example", "192.0.2.10", 25)]}

    x.stage.run(job(X, direction=Direction.OUTBOUND))

    assert x.smtp.policies == [OPPORTUNISTIC]


def test_an_outbound_tls_peer_makes_tls_required_for_its_domain_and_subdomains() -> None:
    # Given a tenant requiring TLS 1.3 to other.example (and so to eu.other.example)
    sub = "ann@eu.other.example"
    w = world([row(X), row(sub), row(BOB)])
    w.configs.configs[TENANT] = TenantConfig(
        outbound_tls_peers=[OutboundTlsPeer(domain="other.example", min_version="TLSv1.3")]
    )
    w.mx.answers = {
        "other.example": [Server("mx.other.example", "192.0.2.10", 25)],
        "eu.other.example": [Server("mx.eu.other.example", "192.0.2.11", 25)],
    }

    # When outbound mail goes to both and to the tenant's own domain
    w.stage.run(job(X, sub, BOB, direction=Direction.OUTBOUND))

    # Then both other.example destinations are sent with TLS 1.3 required, the own one is not
    policies = {
        tuple(rcpts): policy
        for (_, _, rcpts, _), policy in zip(w.smtp.calls, w.smtp.policies, strict=True)
    }
    for recipient in (X, sub):
        assert policies[(recipient,)].required
        assert policies[(recipient,)].min_version == "TLSv1.3"
    assert policies[(BOB,)] == OPPORTUNISTIC


def test_a_required_tls_failure_is_a_temporary_error_with_its_reply(x: World) -> None:
    x.mx.answers = {"other.example": [Server("mx.other.example", "192.0.2.10", 25)]}
    failure = Reply(NOT_CONNECTED, "TLS required by outbound TLS peer other.example, not sent")
    x.smtp.replies[X] = failure
    x.smtp.peer_ip = ""

    x.stage.run(job(X, direction=Direction.OUTBOUND))

    assert x.status(X) is Status.TEMPORARY_ERROR
    assert x.row(X).downstream_reply == str(failure)
    assert [retry.recipients for retry, _ in x.sent] == [[X]]


def test_a_bounce_sends_one_dsn_to_the_sender_as_a_new_tracked_outbound_message(w: World) -> None:
    # Given a server that refuses bob
    w.smtp.replies[BOB] = UNKNOWN_USER

    # When the job runs
    w.stage.run(job(BOB, CAROL))

    # Then one DSN job goes to the envelope sender, from the null sender, outbound
    [report] = w.reports
    assert (report.sender, report.recipients) == ("", ["alice@sender.example"])
    assert report.direction is Direction.OUTBOUND
    assert report.tenant_id == TENANT
    # And it is a tracked message of the tenant: a processing row with its originated event
    dsn_row = w.tracking.rows[TENANT, report.message_uuid, "alice@sender.example"]
    assert dsn_row.status is Status.PROCESSING
    assert (dsn_row.sender, dsn_row.direction) == ("", Direction.OUTBOUND)
    assert dsn_row.subject == "Undelivered Mail Returned to Sender"
    assert w.mail.objects[report.mail_key].startswith(b"Content-Type: multipart/report")
    [originated] = w.tracking.events[TENANT, report.message_uuid]
    assert originated.event == "originated" and UUID in originated.detail
    # And the original's timeline says so, for bob only
    assert [(e.event, e.recipient) for e in w.events if e.event == "dsn_sent"] == [
        ("dsn_sent", BOB)
    ]


def test_no_dsn_goes_to_the_null_sender(w: World) -> None:
    w.smtp.replies[BOB] = UNKNOWN_USER
    bounce = job(BOB).model_copy(update={"sender": ""})

    w.stage.run(bounce)

    assert w.status(BOB) is Status.BOUNCED
    assert w.reports == []
    assert len(w.tracking.rows) == 2, "no DSN row"


def test_delivered_and_deferred_recipients_get_no_dsn(w: World) -> None:
    w.smtp.replies[BOB] = GREYLISTED

    w.stage.run(job(BOB, CAROL))

    assert w.reports == []


def test_a_crash_before_the_bounce_is_recorded_repeats_the_same_dsn_once() -> None:
    # Given a first run that dies after reporting, before writing bob's final status
    w = world()
    w.smtp.replies[BOB] = UNKNOWN_USER
    original = w.tracking.set_status

    def crash(*args: Any, **kwargs: Any) -> bool:
        raise RuntimeError("killed")

    w.tracking.set_status = crash  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        w.stage.run(job(BOB))
    w.tracking.set_status = original  # type: ignore[method-assign]

    # When the job is received again (the run that raised gave its claim back) and runs to
    # the end
    assert w.tracking.claims == {}
    w.stage.run(job(BOB))

    # Then bob is bounced, and both runs name the same DSN: one row, one message
    assert w.status(BOB) is Status.BOUNCED
    assert len({report.message_uuid for report in w.reports}) == 1
    dsn_rows = [key for key in w.tracking.rows if key[1] != UUID]
    assert len(dsn_rows) == 1
    # And the DSN's second job finds its row already final once delivered: sent once
    [dsn_key] = dsn_rows
    dsn_world_rows = w.tracking.rows
    dsn_world_rows[dsn_key] = dsn_world_rows[dsn_key].model_copy(
        update={"status": Status.DELIVERED}
    )
    before = len(w.smtp.calls)
    w.stage.run(w.reports[-1])
    assert len(w.smtp.calls) == before


def test_a_duplicate_job_running_meanwhile_sends_nothing_for_the_claimed_recipients(
    w: World,
) -> None:
    # Given a run that holds bob's claim (still delivering)
    now = datetime.now(UTC)
    assert w.tracking.claim(TENANT, UUID, BOB, now, now + timedelta(seconds=CLAIM_S))

    # When a duplicate of the job runs
    w.stage.run(job(BOB, CAROL))

    # Then only carol is sent; bob is left to the run that holds him
    assert w.smtp.recipients_sent == [CAROL]
    assert w.status(BOB) is Status.PROCESSING
    # … and a job looks at bob again once that claim has lapsed, in case its run died
    [(later, delay)] = [(j, d) for j, d in w.queue.sent if j.recipients == [BOB]]
    assert delay == CLAIM_S and later.not_before is not None


def test_a_job_whose_run_died_holding_the_claim_is_not_lost(w: World) -> None:
    # Given a run that died while delivering bob (its claim still holds)
    now = datetime.now(UTC)
    assert w.tracking.claim(TENANT, UUID, BOB, now, now + timedelta(seconds=CLAIM_S))

    # When its job comes back and finds the claim, then comes back after the claim lapsed
    w.stage.run(job(BOB))
    [(later, _)] = w.queue.sent
    w.tracking.claims.clear()
    w.stage.run(later.model_copy(update={"not_before": None}))

    # Then bob is delivered
    assert w.status(BOB) is Status.DELIVERED


def test_a_claim_of_a_run_that_died_lapses(w: World) -> None:
    past = datetime.now(UTC) - timedelta(seconds=CLAIM_S + 1)
    assert w.tracking.claim(TENANT, UUID, BOB, past, past + timedelta(seconds=CLAIM_S))

    w.stage.run(job(BOB))

    assert w.status(BOB) is Status.DELIVERED


def test_a_recorded_outcome_releases_the_claim_for_the_next_attempt(w: World) -> None:
    w.smtp.replies[BOB] = GREYLISTED
    w.stage.run(job(BOB))
    w.smtp.replies[BOB] = OK

    w.stage.run(job(BOB, attempt=2))

    assert w.status(BOB) is Status.DELIVERED
    assert w.tracking.claims == {}


def warning_world() -> World:
    """Delay warnings after an hour."""
    return world(delay_warning_s=3600)


def test_a_recipient_deferred_past_the_delay_warning_time_gets_one_delay_warning() -> None:
    # Given warnings after an hour, and bob greylisted on attempts 2h and 3h after receipt
    w = warning_world()
    w.smtp.replies[BOB] = GREYLISTED

    # When the first attempt past the hour runs, then the retry it queued
    w.stage.run(job(BOB, attempt=3, age=timedelta(hours=2)))
    [(retry, _)] = w.sent
    w.stage.run(retry.model_copy(update={"not_before": None}))

    # Then the sender got one delay warning, a DSN saying "delayed", and bob is still retried
    [warning] = w.reports
    assert warning.recipients == ["alice@sender.example"]
    content = w.mail.objects[warning.mail_key]
    assert b"Action: delayed" in content and b"Will-Retry-Until:" in content
    assert w.status(BOB) is Status.TEMPORARY_ERROR
    assert [e.event for e in w.events].count("dsn_sent") == 1


def test_no_delay_warning_before_its_time_nor_to_the_null_sender() -> None:
    w = warning_world()
    w.smtp.replies[BOB] = GREYLISTED

    w.stage.run(job(BOB, age=timedelta(minutes=59)))
    w.stage.run(job(BOB, attempt=2, age=timedelta(hours=2)).model_copy(update={"sender": ""}))

    assert w.reports == []


def test_without_a_delay_warning_time_no_warning_is_sent(w: World) -> None:
    w.smtp.replies[BOB] = GREYLISTED

    w.stage.run(job(BOB, age=timedelta(days=4)))

    assert w.reports == []


def test_a_run_that_raises_gives_its_claims_back(w: World) -> None:
    # Given a job whose raw message cannot be read (a fault of ours, not the destination's)
    w.mail.objects.clear()

    # When it runs, it fails, and the job received again is not held back by its own claims
    with pytest.raises(KeyError):
        w.stage.run(job(BOB, CAROL))
    assert w.tracking.claims == {}
    w.mail.objects[MAIL_KEY] = RAW
    w.stage.run(job(BOB, CAROL))
    assert (w.status(BOB), w.status(CAROL)) == (Status.DELIVERED, Status.DELIVERED)
    assert w.queue.sent == []
