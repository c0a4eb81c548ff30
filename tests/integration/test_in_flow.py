"""Flow control reads the real queues: the backlog a front sees is what SQS holds, a front whose
backlog is over the threshold answers MAIL FROM later, and past twice the threshold it refuses
new transactions for now."""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from aiosmtpd.controller import Controller

from functions.receive.flow import InFlow
from functions.receive.front import start_fronts
from mailgate import aws, resources
from mailgate.settings import ReceiveSettings
from mailgate.storage.queues import JobQueue
from mailgate.tenant_config import MailServer
from tests.integration.conftest import Gateway
from tests.support.ports import free_port

pytestmark = pytest.mark.integration


def queue(gateway: Gateway) -> JobQueue:
    url = aws.client("sqs").create_queue(QueueName=f"flow-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    return JobQueue(url)


async def direct(read: Callable[[], int]) -> int:
    return read()


def test_the_backlog_counts_waiting_and_held_jobs(gateway: Gateway) -> None:
    jobs = queue(gateway)
    for n in range(5):
        jobs.send(MailServer(host=f"h{n}.example"))
    assert jobs.waiting() == 5
    aws.client("sqs").receive_message(QueueUrl=jobs._url, MaxNumberOfMessages=2)
    assert jobs.waiting() == 5  # two held by a worker still count
    assert jobs.waiting(in_flight=False) == 3


def test_mail_from_is_answered_later_while_the_backlog_is_over_the_threshold(
    gateway: Gateway,
) -> None:
    jobs = queue(gateway)
    gate = InFlow(jobs.waiting, threshold=2, max_delay_s=0.5, run_blocking=direct)
    assert asyncio.run(gate.pace()) == 0.0
    for n in range(4):
        jobs.send(MailServer(host=f"h{n}.example"))
    fresh = InFlow(jobs.waiting, threshold=2, max_delay_s=0.5, run_blocking=direct)
    started = time.monotonic()
    assert asyncio.run(fresh.pace()) == 0.5
    assert time.monotonic() - started >= 0.5


def test_the_running_front_accepts_at_full_speed_when_nothing_waits(gateway: Gateway) -> None:
    host, port = gateway.smtp
    with smtplib.SMTP(host, port, timeout=30) as smtp:
        smtp.ehlo("client.sender.test")
        started = time.monotonic()
        code, _ = smtp.mail("alice@sender.test")
        assert code == 250 and time.monotonic() - started < 0.5
        smtp.rset()


@pytest.fixture
def busy_front(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, int]]:
    """A second front whose scan queue is a fresh one holding 3 jobs, threshold 1."""
    scan = queue(gateway)
    for n in range(3):
        scan.send(MailServer(host=f"h{n}.example"))
    monkeypatch.setenv(resources.SCAN_QUEUE.env_var, scan._url)
    monkeypatch.setenv("MAILGATE_SMTP_PORT", str(free_port()))
    monkeypatch.setenv("MAILGATE_RELAY_PORT", str(free_port()))
    monkeypatch.setenv("MAILGATE_IN_FLOW_BACKLOG", "1")
    settings = ReceiveSettings()
    controllers: list[Controller] = start_fronts(settings)
    try:
        yield (settings.bind, settings.smtp_port)
    finally:
        for controller in controllers:
            controller.stop()


def test_past_twice_the_threshold_mail_from_is_refused_for_now(
    busy_front: tuple[str, int],
) -> None:
    with smtplib.SMTP(*busy_front, timeout=30) as smtp:
        smtp.ehlo("client.sender.test")
        code, text = smtp.mail("alice@sender.test")
        assert (code, text) == (452, b"4.3.1 Insufficient system resources, try again later")
        # nothing half-open: the sender may try again in the same session
        assert smtp.rcpt("someone@example.com")[0] == 503
