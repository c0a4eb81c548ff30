"""The SMTP front's hooks with fakes behind admission and hand-off: each decision is one log
line with the facts an operator greps for, and never the message's content."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import pytest
from aiosmtpd.smtp import SMTP

from functions.receive.admission import Admission
from functions.receive.blocked_log import BlockedLog
from functions.receive.checks import Services, SystemPolicy
from functions.receive.intake import Intake
from functions.receive.protocol import FrontEnvelope, FrontSession
from functions.receive.routing import DomainDirectory
from functions.receive.smtp_front import FrontHandler
from mailgate.catalog import Direction
from mailgate.tenant_config import Domain, DomainConfig, MailServer, TenantConfig
from mailgate.ttl_cache import TtlCache
from tests.support.fakes import FakeCounters, FakeLookups, FakeMail, FakeQueue, FakeTracking

TENANT = "tenant-a"
CLIENT = "203.0.113.9"
HELO = "mail.sender.example"
SENDER = "alice@sender.example"
BOB, CAROL = "bob@example.com", "carol@example.com"
SUBJECT = "Quarterly figures"
RAW = f"From: {SENDER}\r\nSubject: {SUBJECT}\r\n\r\nThe secret body.\r\n".encode()
SERVERS = [MailServer(host="10.0.0.25", port=25)]


@dataclass
class NoTransport:
    """What the hooks read of aiosmtpd's server: no TLS transport (a plain session)."""

    transport: Any = None


def front(tracking: FakeTracking, pool: ThreadPoolExecutor) -> FrontHandler:
    domain = Domain(name="example.com", tenant_id=TENANT, inbound_servers=SERVERS)
    config = TenantConfig(
        domains=[DomainConfig(name="example.com", inbound_servers=SERVERS, valid_recipients=[BOB])]
    )
    admission = Admission(
        DomainDirectory(lambda name: domain if name == "example.com" else None),
        TtlCache(lambda _tenant: config),
        BlockedLog(tracking),
    )
    intake = Intake(FakeMail(), tracking, FakeQueue())
    return FrontHandler(Direction.INBOUND, admission, intake, 100, pool)


async def transaction(handler: FrontHandler, recipients: list[str]) -> list[str]:
    loop = asyncio.get_running_loop()
    services = Services(FakeLookups(), FakeCounters(), SystemPolicy())
    session, envelope = FrontSession(loop, services), FrontEnvelope()
    server = cast(SMTP, NoTransport())
    session.peer = (CLIENT, 40000)  # type: ignore[assignment]  # aiosmtpd types it as str
    session.host_name = HELO
    replies = [await handler.handle_MAIL(server, session, envelope, SENDER, [])]
    for recipient in recipients:
        replies.append(await handler.handle_RCPT(server, session, envelope, recipient, []))
    envelope.original_content = RAW
    replies.append(await handler.handle_DATA(server, session, envelope))
    return replies


def decisions(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith("smtp ")]


def test_each_decision_is_one_line_with_the_envelope_facts_and_never_the_content(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    tracking = FakeTracking()
    # Given a transaction with one valid and one invalid recipient
    with ThreadPoolExecutor(max_workers=4) as pool:
        replies = asyncio.run(transaction(front(tracking, pool), [BOB, CAROL]))
    assert [reply[:3] for reply in replies] == ["250", "250", "550", "250"], replies
    queued = replies[-1].rsplit(" ", 1)[1]
    (blocked_uuid,) = {uuid for _, uuid, recipient in tracking.rows if recipient == CAROL}

    # Then the refused recipient is one line, with the reason and its blocked rows' uuid
    refused, accepted = decisions(caplog)
    facts = {"client_ip": CLIENT, "helo": HELO, "tls": "none", "sender": SENDER}
    assert refused.getMessage() == "smtp refused"
    assert {
        key: getattr(refused, key)
        for key in (*facts, "smtp_command", "tenant", "message_uuid", "reason", "recipient")
    } == facts | {
        "smtp_command": "RCPT",
        "tenant": TENANT,
        "message_uuid": blocked_uuid,
        "reason": "recipient_invalid",
        "recipient": CAROL,
    }
    assert vars(refused)["reply"] == replies[2]
    # … and the accepted message is one line, with its queued uuid, size and recipients count
    assert accepted.getMessage() == "smtp accepted"
    assert {
        key: getattr(accepted, key)
        for key in (*facts, "smtp_command", "tenant", "message_uuid", "recipients", "size")
    } == facts | {
        "smtp_command": "DATA",
        "tenant": TENANT,
        "message_uuid": queued,
        "recipients": 1,
        "size": len(RAW),
    }
    assert vars(accepted)["reply"] == replies[-1]
    for line in (refused, accepted):
        assert vars(line)["duration_ms"] >= 0
        assert SUBJECT not in str(vars(line)) and "secret body" not in str(vars(line))
