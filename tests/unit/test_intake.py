"""The front's hand-off: the scan job is the commit point, so a failure before it leaves nothing
behind and a failure after it still commits the message."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from pydantic import BaseModel

from functions.receive.intake import HandOffFailed, Intake, Message
from mailgate.catalog import Direction
from mailgate.jobs import ScanJob
from mailgate.peer import Peer
from mailgate.records import TimelineEvent, TrackingRow
from tests.support.fakes import FakeMail, FakeQueue, FakeTracking

RAW = b"From: a@sender.example\r\nTo: bob@acme.example\r\nSubject: hi\r\n\r\nhello\r\n"
MESSAGE = Message(
    Peer(Direction.INBOUND, "192.0.2.1", "mx.sender", "TLSv1.3"), "a@sender.example", RAW
)


class RefusingQueue(FakeQueue):
    def send(self, job: BaseModel, delay_s: int = 0) -> None:
        raise ConnectionError("queue unavailable")


class RecordingQueue(FakeQueue):
    """Notes how many rows existed when each job was sent."""

    def __init__(self, tracking: FakeTracking) -> None:
        super().__init__()
        self.tracking = tracking
        self.rows_at_send: list[int] = []

    def send(self, job: BaseModel, delay_s: int = 0) -> None:
        self.rows_at_send.append(len(self.tracking.rows))
        super().send(job, delay_s)


class RefusingTracking(FakeTracking):
    def add(self, rows: Iterable[TrackingRow], events: Iterable[TimelineEvent]) -> None:
        if list(rows):
            raise ConnectionError("table unavailable")


def test_the_job_is_sent_before_the_rows_are_written() -> None:
    tracking, mail = FakeTracking(), FakeMail()
    queue = RecordingQueue(tracking)
    (accepted,) = Intake(mail, tracking, queue).accept(MESSAGE, {"acme": ["bob@acme.example"]})
    assert queue.rows_at_send == [0]
    row = tracking.rows["acme", accepted.message_uuid, "bob@acme.example"]
    ((job, _),), (key,) = queue.sent, mail.objects
    assert isinstance(job, ScanJob) and job.mail_key == key == row.mail_key
    assert (job.upstream_tls, row.upstream_tls) == ("TLSv1.3", "TLSv1.3")


def test_a_refused_job_leaves_no_object_and_no_rows() -> None:
    tracking, mail = FakeTracking(), FakeMail()
    with pytest.raises(HandOffFailed):
        Intake(mail, tracking, RefusingQueue()).accept(MESSAGE, {"acme": ["bob@acme.example"]})
    assert mail.objects == {} and tracking.rows == {}


def test_rows_that_cannot_be_written_do_not_undo_a_committed_message() -> None:
    mail, queue = FakeMail(), FakeQueue()
    (accepted,) = Intake(mail, RefusingTracking(), queue).accept(
        MESSAGE, {"acme": ["bob@acme.example"]}
    )
    ((job, _),), (_key,) = queue.sent, mail.objects
    assert isinstance(job, ScanJob) and job.message_uuid == accepted.message_uuid
