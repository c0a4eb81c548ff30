"""Flow control reads the real queues: the backlog a front sees is what SQS holds, and a front
whose backlog is over the threshold answers MAIL FROM later."""

from __future__ import annotations

import asyncio
import smtplib
import time
import uuid
from collections.abc import Callable

import pytest

from functions.receive.flow import InFlow
from mailgate import aws
from mailgate.storage.queues import JobQueue
from mailgate.tenant_config import MailServer
from tests.integration.conftest import Gateway

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
