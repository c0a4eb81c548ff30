"""A fault inside the front is a temporary refusal: the sending MTA keeps the message and tries
again, and nothing of the gateway's internals reaches it. Real SMTP over loopback, with the
front's storage and DNS replaced by fakes so the fault can be placed."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from functions.receive.admission import Admission
from functions.receive.blocked_log import BlockedLog
from functions.receive.checks import Services, SystemPolicy
from functions.receive.intake import Intake
from functions.receive.protocol import FrontController
from functions.receive.routing import DomainDirectory
from functions.receive.smtp_front import FrontHandler
from mailgate.catalog import Direction
from mailgate.dns import DomainStatus
from mailgate.tenant_config import Domain, DomainConfig, MailServer, TenantConfig
from mailgate.ttl_cache import TtlCache
from tests.support.fakes import (
    FakeCounters,
    FakeDomains,
    FakeLookups,
    FakeMail,
    FakeQueue,
    FakeTracking,
)
from tests.support.ports import free_port

pytestmark = pytest.mark.integration
DOMAIN = "faulty.test"
SECRET = "internal detail that must not leak"


class BrokenLookups(FakeLookups):
    def domain_status(self, domain: str) -> DomainStatus:
        raise RuntimeError(SECRET)


@pytest.fixture
def front() -> Iterator[int]:
    server = MailServer(host="127.0.0.1", port=25)
    domains = FakeDomains([Domain(name=DOMAIN, tenant_id="t", inbound_servers=[server])])
    config = TenantConfig(domains=[DomainConfig(name=DOMAIN, inbound_servers=[server])])
    tracking = FakeTracking()
    pool = ThreadPoolExecutor(max_workers=2)
    admission = Admission(
        DomainDirectory(domains.domain), TtlCache(lambda _: config), BlockedLog(tracking)
    )
    intake = Intake(FakeMail(), tracking, FakeQueue())
    port = free_port()
    controller = FrontController(
        FrontHandler(Direction.INBOUND, admission, intake, 100, pool),
        services=lambda: Services(BrokenLookups(), FakeCounters(), SystemPolicy()),
        hostname="127.0.0.1",
        port=port,
        decode_data=False,
    )
    controller.start()
    yield port
    controller.stop()
    pool.shutdown()


def test_an_unexpected_fault_is_answered_451_without_internals(front: int) -> None:
    with smtplib.SMTP("127.0.0.1", front, timeout=10) as client:
        client.ehlo("client.test")
        assert client.mail("someone@sender.test")[0] == 250

        code, text = client.rcpt(f"user@{DOMAIN}")

        assert code == 451
        assert text.decode().startswith("4.3.0 ")
        assert SECRET not in text.decode() and "RuntimeError" not in text.decode()
        # The session goes on: the client may try again or quit cleanly.
        assert client.noop()[0] == 250
