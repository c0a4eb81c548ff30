"""The spam and virus engines end to end: the real rspamd and clamd the local runtime starts,
messages through real SMTP, what the admin sees; then each engine killed before and during a
run: no message is lost."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from local.engines.daemons import Daemon
from mailgate.catalog import Status
from mailgate.engines.rspamd import RspamdClient
from tests.integration.conftest import Gateway
from tests.integration.test_pipeline import final_row
from tests.integration.test_stage2 import add_rule, deliver, mail, policies, tenant
from tests.support.api_client import ApiClient, wait_for
from tests.support.smtp_peer import ScriptedServer

pytestmark = pytest.mark.integration
GTUBE = "XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X"
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"


def engine(gateway: Gateway, name: str) -> Daemon:
    daemon = gateway.engines[name]
    assert daemon is not None, f"{name} is not installed (make test installs it)"
    return daemon


def events(api: ApiClient, message_uuid: str) -> list[dict[str, Any]]:
    status, found = api.request("POST", "/v1/events/search", {"period": "1h"})
    assert status == 200, found
    details = []
    for item in found["items"]:
        if item["message_uuid"] == message_uuid:
            status, detail = api.request("GET", f"/v1/events/{item['event_id']}")
            assert status == 200, detail
            details.append(detail)
    return details


def text_mail(to: str, subject: str, body: str) -> bytes:
    raw = mail(to, subject)
    return raw.replace(b"Hello, this is the body.", body.encode())


def test_gtube_is_quarantined_by_the_default_spam_rule_with_the_result_and_version_strings(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, text_mail(to, "Cheap pills", GTUBE))

    assert final_row(gateway, message_uuid, to, api)["status"] == Status.QUARANTINED
    assert peer.received == []
    (event,) = events(api, message_uuid)
    assert (event["threat_type"], event["rule_name"], event["action"]) == (
        "spam",
        "Spam or Phish",
        "quarantine",
    )
    assert event["details"]["spam_result"] == "11-15.000000-7.000000"
    version, rules = event["details"]["spam_version"].split(";")
    assert version[0].isdigit() and rules.startswith("packaged+")


def test_an_ordinary_message_passes_the_spam_and_virus_rules(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, text_mail(to, "Lunch", "See you at noon tomorrow."))

    assert final_row(gateway, message_uuid, to, api)["status"] == Status.DELIVERED
    assert [p["result"] for p in policies(api, message_uuid, to)] == ["no_match"] * 3
    assert events(api, message_uuid) == []


def test_eicar_is_quarantined_by_the_default_virus_rule_naming_the_signature_and_file(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, mail(to, "The file", ("eicar.com", EICAR)))

    assert final_row(gateway, message_uuid, to, api)["status"] == Status.QUARANTINED
    (event,) = events(api, message_uuid)
    assert (event["threat_type"], event["detection_method"], event["rule_name"]) == (
        "malware",
        "pattern",
        "Virus",
    )
    assert event["threat_name"].startswith("Eicar-Test-Signature")
    assert event["violating_file"] == "eicar.com"
    assert event["details"]["virus_version"].count(";") == 1


def _encrypted_zip() -> bytes:
    """A zip whose entry is flagged encrypted (clamd cannot read it without the password)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("secret.txt", b"\x00" * 12 + b"scrambled content " * 20)
    data = bytearray(buffer.getvalue())
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.find(signature)
        data[at + offset] |= 1  # general purpose flag bit 0: encrypted
    return bytes(data)


def test_a_password_protected_archive_is_a_scan_exclusion_a_rule_can_act_on(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    api, domain = tenant(gateway, peer)
    add_rule(
        api,
        {
            "name": "Unscannable",
            "category": "virus",
            "conditions": [
                {"type": "threat", "threat": "scan_exclusion", "subtypes": ["password_protected"]}
            ],
            "actions": {"intercept": {"action": "quarantine"}},
        },
    )
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, mail(to, "Locked", ("locked.zip", _encrypted_zip())))

    assert final_row(gateway, message_uuid, to, api)["status"] == Status.QUARANTINED
    (event,) = events(api, message_uuid)
    assert (event["threat_type"], event["subtype"], event["rule_name"]) == (
        "scan_exclusion",
        "password_protected",
        "Unscannable",
    )
    assert event["threat_name"].startswith("Heuristics.Encrypted")


@pytest.fixture
def killed_clamd(gateway: Gateway) -> Iterator[Daemon]:
    daemon = engine(gateway, "clamd")
    daemon.kill()
    yield daemon
    daemon.start()


@pytest.fixture
def killed_rspamd(gateway: Gateway) -> Iterator[Daemon]:
    daemon = engine(gateway, "rspamd")
    daemon.kill()
    yield daemon
    daemon.start()


def test_with_clamd_down_the_message_is_retried_then_quarantined_naming_the_engine(
    gateway: Gateway, peer: ScriptedServer, killed_clamd: Daemon
) -> None:
    api, domain = tenant(gateway, peer)
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, text_mail(to, "Hello", "Nothing to see."))

    assert final_row(gateway, message_uuid, to, api)["status"] == Status.QUARANTINED
    (event,) = events(api, message_uuid)
    assert (event["threat_type"], event["subtype"], event["rule_name"]) == (
        "scan_exclusion",
        "other_exclusion",
        "Virus",
    )
    assert "clamd" in event["details"]["engine"]
    assert killed_clamd.address in event["details"]["engine"]


def test_with_rspamd_down_the_message_goes_on_without_a_spam_verdict(
    gateway: Gateway, peer: ScriptedServer, killed_rspamd: Daemon
) -> None:
    api, domain = tenant(gateway, peer)
    to = f"bob@{domain}"
    message_uuid = deliver(gateway, to, text_mail(to, "Cheap pills", GTUBE))

    assert final_row(gateway, message_uuid, to, api)["status"] == Status.DELIVERED
    found = events(api, message_uuid)
    assert {(e["rule_name"], e["subtype"], e["action"]) for e in found} == {
        ("Spam or Phish", "other_exclusion", "none"),
        ("Newsletter or spam-like", "other_exclusion", "none"),
    }
    assert all("rspamd" in e["details"]["engine"] for e in found)


@dataclass(frozen=True)
class KillCase:
    engine: str
    bad: Callable[[str], bytes]  # a message the engine detects, for a recipient
    threat: str  # the policy event of its detection
    fallback: Status  # the catalog's rule when the engine gives no verdict


KILL_CASES = [
    KillCase(
        "clamd",
        lambda to: mail(to, "The file", ("eicar.com", EICAR)),
        "malware",
        Status.QUARANTINED,
    ),
    KillCase("rspamd", lambda to: text_mail(to, "Cheap pills", GTUBE), "spam", Status.DELIVERED),
]


@dataclass(frozen=True)
class Sent:
    message_uuid: str
    message_id: bytes
    bad: bool


def retried(caplog: pytest.LogCaptureFixture) -> bool:
    return any(r.getMessage() == "no verdict, the job is retried" for r in caplog.records)


@pytest.mark.parametrize("case", KILL_CASES, ids=[c.engine for c in KILL_CASES])
def test_an_engine_killed_mid_run_loses_no_message(
    gateway: Gateway, peer: ScriptedServer, case: KillCase, caplog: pytest.LogCaptureFixture
) -> None:
    api, domain = tenant(gateway, peer)
    to = f"bob@{domain}"
    daemon = engine(gateway, case.engine)
    host_port = daemon.address.removeprefix("http://")

    def send(bad: bool) -> Sent:
        raw = case.bad(to) if bad else text_mail(to, "Lunch", "See you at noon tomorrow.")
        message_id = raw.split(b"Message-ID: ", 1)[1].split(b"\r\n", 1)[0]
        return Sent(deliver(gateway, to, raw), message_id, bad)

    def ending(sent: Sent) -> tuple[str, set[str]]:
        """The final status and the events: a detection's threat, or the engine failure."""
        status = final_row(gateway, sent.message_uuid, to, api)["status"]
        seen = set()
        for event in events(api, sent.message_uuid):
            if event["subtype"] == "other_exclusion":
                assert host_port in event["details"]["engine"], event
                seen.add(f"no verdict from {case.engine}")
            else:
                seen.add(event["threat_type"])
        return status, seen

    def scanned(sent: Sent) -> tuple[str, set[str]]:
        return (Status.QUARANTINED, {case.threat}) if sent.bad else (Status.DELIVERED, set())

    fallback = (case.fallback, {f"no verdict from {case.engine}"})
    try:
        # Killed while the first two are being scanned, and back before the retries of the
        # two sent meanwhile run out: every one is scanned.
        first = [send(True), send(False)]
        daemon.kill()
        while_down = [send(True), send(False)]
        wait_for(lambda: retried(caplog), interval=0.05)  # a scan met the engine down
        daemon.start()
        for sent in first + while_down:
            assert ending(sent) == scanned(sent), sent
        # Killed again while one is being scanned, and left down past the last attempt.
        in_flight = send(True)
        daemon.kill()
        left_down = send(False)
        assert ending(left_down) == fallback
        assert ending(in_flight) in (scanned(in_flight), fallback)
    finally:
        if daemon.process is None or daemon.process.poll() is not None:
            daemon.start()

    # Each message delivered reached the recipient's server once; none other did.
    for sent in [*first, *while_down, in_flight, left_down]:
        copies = sum(sent.message_id in r.data for r in peer.received)
        delivered = final_row(gateway, sent.message_uuid, to, api)["status"] == Status.DELIVERED
        assert copies == (1 if delivered else 0), sent


def test_health_reports_each_engine_without_a_key_and_sees_one_go_down(
    gateway: Gateway,
) -> None:
    anonymous = gateway.client(None)
    status, health = anonymous.request("GET", "/v1/health")
    assert status == 200, health
    assert health["status"] == "ok"
    assert {e["name"]: e["state"] for e in health["engines"]} == {"rspamd": "up", "clamd": "up"}
    clamd = engine(gateway, "clamd")
    clamd.kill()
    try:
        status, health = anonymous.request("GET", "/v1/health")
    finally:
        clamd.start()
    assert (status, health["status"]) == (200, "degraded")
    (down,) = [e for e in health["engines"] if e["state"] == "down"]
    assert down["name"] == "clamd" and clamd.address in down["error"]


def test_rspamd_answers_for_a_client_on_the_internet_without_waiting_on_dns(
    gateway: Gateway,
) -> None:
    # rspamd's DNS answers nothing here (as on a site without a resolver for it): asked about
    # a client that is not local, it must not spend its DNS timeout looking the client up
    client = RspamdClient(engine(gateway, "rspamd").address, 15.0)
    started = time.monotonic()
    check = client.check(
        mail("bob@example.com", "Hello"),
        client_ip="203.0.113.9",
        helo="mail.sender.test",
        sender="alice@sender.test",
        recipients=["bob@example.com"],
    )
    assert time.monotonic() - started < 0.5
    assert check.score < 5.0
