"""The operator tool against the running local gateway (real stores, queues, workers, SMTP and
API): onboarding, suspension, key revocation, and the bulk re-delivery of seed 003."""

from __future__ import annotations

import re
import smtplib
import time
import uuid
from datetime import timedelta
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from local.cli import main
from mailgate import resources, ttl_cache
from mailgate.catalog import ThreatType
from mailgate.clock import utcnow
from mailgate.policy import rules as r
from mailgate.policy.records import QuarantineState
from mailgate.redelivery_records import Selection
from mailgate.storage.redelivery_runs import RedeliveryRunStore
from mailgate.storage.tenants import TenantConfigStore
from ops.session import Session
from ops.target import local as local_target
from tests.integration.conftest import Gateway
from tests.support.api_client import ApiClient, wait_for
from tests.support.quarantine_seed import Quarantined, QuarantineSeed
from tests.support.smtp_peer import ScriptedServer
from tests.support.table_scan import scan_all

pytestmark = pytest.mark.integration
OPERATOR = "alice"


def ops(gateway: Gateway, *args: str, input: str | None = None) -> Result:
    result = CliRunner().invoke(
        main,
        ["ops", "--state-dir", gateway.settings.state_dir, "--operator", OPERATOR, *args],
        input=input,
        catch_exceptions=False,
    )
    return result


def ok(gateway: Gateway, *args: str) -> str:
    result = ops(gateway, *args)
    assert result.exit_code == 0, result.output
    return result.output


def onboard(gateway: Gateway, peer: ScriptedServer, prefix: str) -> tuple[str, str, ApiClient]:
    """A tenant made by the tool, with a domain served by ``peer`` and a key of every scope."""
    tenant_id = f"{prefix}-{uuid.uuid4().hex[:8]}"
    domain = f"{tenant_id}.test"
    ok(gateway, "tenants", "create", tenant_id, "--name", f"{prefix} Inc.")
    secret = ok(gateway, "keys", "create", tenant_id, "--name", "soc").strip().splitlines()[-1]
    api = gateway.client(secret)
    status, body = api.request(
        "PUT",
        "/v1/config/domains",
        [{"name": domain, "inbound_servers": [{"host": "127.0.0.1", "port": peer.port}]}],
    )
    assert status == 200, body
    return tenant_id, domain, api


def message(recipient: str, subject: str) -> str:
    return (
        f"From: Ops Test <ops-test@sender.test>\r\nTo: {recipient}\r\nSubject: {subject}\r\n"
        f"Date: {formatdate()}\r\nMessage-ID: {make_msgid()}\r\n\r\nhello\r\n"
    )


def send(gateway: Gateway, recipient: str, subject: str) -> dict[str, tuple[int, bytes]]:
    with smtplib.SMTP(*gateway.smtp, timeout=30) as smtp:
        smtp.ehlo("sender.test")
        try:
            return smtp.sendmail("ops-test@sender.test", [recipient], message(recipient, subject))
        except smtplib.SMTPRecipientsRefused as refused:
            return refused.recipients


def audit_actions(api: ApiClient, **query: str) -> list[dict[str, Any]]:
    path = "/v1/audit?" + "&".join(f"{k}={v}" for k, v in {"period": "1h", **query}.items())
    status, body = api.request("GET", path)
    assert status == 200, body
    items: list[dict[str, Any]] = body["items"]
    return items


def test_onboarding_a_tenant_end_to_end(gateway: Gateway, peer: ScriptedServer) -> None:
    # Given a tenant and key the tool made, whose key added its domain through the API
    tenant_id, domain, api = onboard(gateway, peer, "onb")

    # When mail comes for the domain
    assert send(gateway, f"bob@{domain}", "welcome aboard") == {}

    # Then it reaches the tenant's server
    wait_for(lambda: [m for m in peer.received if b"Subject: welcome aboard" in m.data])
    # And the tool shows the tenant, its domain and its key
    shown = ok(gateway, "tenants", "show", tenant_id)
    assert domain in shown and "soc" in shown
    assert tenant_id in ok(gateway, "tenants", "list")
    # And the tenant's audit trail has each step, with who did it
    steps = {(item["action"], item["actor"]) for item in audit_actions(api)}
    assert {
        ("tenant.create", f"operator {OPERATOR}"),
        ("api_key.create", f"operator {OPERATOR}"),
        ("config.domains.write", "soc"),
    } <= steps
    assert "tenant.create" in ok(gateway, "audit", tenant_id, "--action", "tenant.")


def test_a_suspended_tenant_gets_a_temporary_refusal_and_403_until_resumed(
    gateway: Gateway, peer: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ttl_cache, "CACHE_SECONDS", 1.0)  # the front's and authorizer's cache
    tenant_id, domain, api = onboard(gateway, peer, "sus")
    ok(gateway, "tenants", "suspend", tenant_id)
    time.sleep(1.2)

    refused = send(gateway, f"bob@{domain}", "while suspended")
    (code, text) = refused[f"bob@{domain}"]
    assert code == 451 and b"suspended" in text
    status, body = api.request("GET", "/v1/config")
    assert status == 403, body

    ok(gateway, "tenants", "resume", tenant_id)
    time.sleep(1.2)
    assert send(gateway, f"bob@{domain}", "after resumption") == {}
    wait_for(lambda: [m for m in peer.received if b"Subject: after resumption" in m.data])
    assert api.request("GET", "/v1/config")[0] == 200
    actions = [item["action"] for item in audit_actions(api, action="tenant.")]
    assert actions[:2] == ["tenant.resume", "tenant.suspend"]  # newest first


def test_a_revoked_key_is_refused_within_the_cache_time(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenant_id, _, api = onboard(gateway, peer, "rev")
    listed = ok(gateway, "keys", "list", tenant_id)
    (key_id,) = re.findall(r"\b[0-9a-f]{16}\b", listed)
    ok(gateway, "keys", "revoke", tenant_id, key_id)
    # API Gateway caches an authorizer's answer 60 seconds; the local API does not cache.
    wait_for(lambda: api.request("GET", "/v1/config")[0] == 401, timeout=60)
    unknown = ops(gateway, "keys", "revoke", tenant_id, key_id)
    assert unknown.exit_code != 0 and "has no key" in unknown.output


def test_deleting_a_tenant_asks_and_erases_its_data(gateway: Gateway, peer: ScriptedServer) -> None:
    tenant_id, domain, api = onboard(gateway, peer, "del")
    seeded = QuarantineSeed().add(
        tenant_id, f"bob@{domain}", utcnow(), "r1", "Graymail", ThreatType.GRAYMAIL, "bulk"
    )
    saved = {"name": "mine", "body": {"period": "1h", "senders": ["a@x.example"]}}
    assert api.request("POST", "/v1/tracking/queries", saved)[0] < 300
    declined = ops(gateway, "tenants", "delete", tenant_id, input="n\n")
    assert declined.exit_code != 0 and tenant_id in ok(gateway, "tenants", "list")

    output = ok(gateway, "tenants", "delete", tenant_id, "--yes")

    assert "erased" in output and tenant_id not in ok(gateway, "tenants", "list")
    seed = QuarantineSeed()
    assert seed.quarantine.entry(tenant_id, seeded.message_uuid) is None
    assert seed.tracking.message(tenant_id, seeded.message_uuid)[0] == []
    left = [  # index and lookup items, saved and recent queries: nothing of the tenant stays
        item["pk"]
        for table in (resources.TRACKING, resources.POLICY, resources.QUERIES)
        for item in scan_all(table.local_name)
        if item["pk"] == tenant_id or item["pk"].startswith(f"{tenant_id}#")
    ]
    assert left == []
    assert api.request("GET", "/v1/config")[0] == 401
    assert send(gateway, f"bob@{domain}", "after deletion") != {}


GRAYMAIL_RULE = r.Rule(
    id="graymail",
    name="Graymail",
    category=r.RuleCategory.SPAM,
    conditions=[r.ThreatCondition(threat=ThreatType.GRAYMAIL)],
    actions=r.Actions(intercept=r.QuarantineIt()),
)
# After the quarantining rule: a released message is tagged by it, proof that stage 2 went on.
LATER_RULE = r.Rule(
    id="tag-offers",
    name="Tag offers",
    category=r.RuleCategory.CONTENT,
    conditions=[r.SubjectKeywords(keywords=r.Keywords(values=["incident"]))],
    actions=r.Actions(tag_subject="[checked]"),
)


def incident_tenants(
    gateway: Gateway, peer: ScriptedServer, count: int
) -> list[tuple[str, str, ApiClient]]:
    tenants = []
    configs = TenantConfigStore(resources.TENANTS.local_name)
    for _ in range(count):
        tenant_id, domain, api = onboard(gateway, peer, "inc")
        config, version = configs.get(tenant_id)
        policies = r.Policies(inbound=[GRAYMAIL_RULE, LATER_RULE])
        configs.put(tenant_id, config.model_copy(update={"policies": policies}), version)
        tenants.append((tenant_id, domain, api))
    return tenants


def delivered(peer: ScriptedServer, message: Quarantined) -> list[bytes]:
    return [m.data for m in peer.received if message.subject.encode() in m.data]


def run_id_of(output: str) -> str:
    found = re.search(r"Run (\S+) on", output)
    assert found, output
    return found.group(1)


def test_seed_003_releases_only_graymail_of_the_window_once_across_tenants(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    # Given three tenants whose graymail rule quarantined mail for hours, among other mail
    tenants = incident_tenants(gateway, peer, 3)
    seed, now = QuarantineSeed(), utcnow()
    start, end = now - timedelta(hours=3), now - timedelta(hours=1)
    inside, outside = [], []
    for n, (tenant_id, domain, _) in enumerate(tenants):
        to = f"bob@{domain}"
        for subtype in ("marketing", "bulk"):
            inside.append(
                seed.add(
                    tenant_id,
                    to,
                    now - timedelta(hours=2),
                    "graymail",
                    "Graymail",
                    ThreatType.GRAYMAIL,
                    subtype,
                    subject=f"incident {subtype} {uuid.uuid4().hex[:6]}",
                )
            )
        outside.append(
            seed.add(
                tenant_id,
                to,
                now - timedelta(minutes=30),
                "graymail",
                "Graymail",
                ThreatType.GRAYMAIL,
                "bulk",
                subject=f"incident later {n}",
            )
        )
        outside.append(
            seed.add(
                tenant_id,
                to,
                now - timedelta(hours=2),
                "spam",
                "Spam",
                ThreatType.SPAM,
                subject=f"incident spam {n}",
            )
        )
    window = [
        "--start",
        start.isoformat(timespec="seconds"),
        "--end",
        end.isoformat(timespec="seconds"),
    ]
    selection = [
        *window,
        "--threat-type",
        "graymail",
        *(a for t, _, _ in tenants for a in ("--tenant", t)),
    ]

    # When the operator counts first, then runs
    counted = ok(gateway, "redeliver", *selection, "--dry-run")
    assert all(re.search(rf"{t}\s*│\s*2\s*│\s*0", counted) for t, _, _ in tenants), counted
    first = ok(gateway, "redeliver", *selection, "--rate", "5", "--idle-timeout", "60")

    # Then every graymail message of the window is released and delivered once, after the
    # rules that follow the quarantining one, marked as the operator's doing
    for released in inside:
        wait_for(lambda m=released: delivered(peer, m))
        entry = seed.quarantine.entry(released.tenant_id, released.message_uuid)
        assert entry is not None and entry.state is QuarantineState.RELEASED
        assert entry.released_by == OPERATOR
    for released in inside:
        (data,) = delivered(peer, released)
        assert f"Subject: [checked] {released.subject}".encode() in data
    for kept in outside:
        entry = seed.quarantine.entry(kept.tenant_id, kept.message_uuid)
        assert entry is not None and entry.state is QuarantineState.QUARANTINED
        assert delivered(peer, kept) == []
    sample = inside[0]
    api = next(api for t, _, api in tenants if t == sample.tenant_id)
    detail = wait_for(
        lambda: "delivered by administrator alice" in str(api.detail(sample.message_uuid)[1])
    )
    assert detail
    runs = RedeliveryRunStore(resources.AUDIT.local_name)
    outcomes = {m.outcome for m in runs.messages(run_id_of(first))}
    assert outcomes == {"released"} and len(runs.messages(run_id_of(first))) == 6

    # When it runs a second time
    second = ok(gateway, "redeliver", *selection, "--idle-timeout", "30")

    # Then nothing new is released: each message is counted as already released
    second_run = runs.messages(run_id_of(second))
    assert {m.outcome for m in second_run} == {"already_released"} and len(second_run) == 6
    time.sleep(2)
    assert all(len(delivered(peer, m)) == 1 for m in inside)

    # And each tenant's audit trail shows the operator's two runs, and only its own
    for _, _, api in tenants:
        items = audit_actions(api, action="quarantine.redeliver")
        assert [i["actor"] for i in items] == [f"operator {OPERATOR}"] * 2
        assert {i["target"] for i in items} == {
            f"redelivery {run_id_of(first)}",
            f"redelivery {run_id_of(second)}",
        }
        assert [i["details"]["queued"] for i in items] == [0, 2]


def test_an_interrupted_run_resumes_where_it_stopped(
    gateway: Gateway, peer: ScriptedServer
) -> None:
    tenants = incident_tenants(gateway, peer, 2)
    seed, now = QuarantineSeed(), utcnow()
    start, end = now - timedelta(hours=3), now - timedelta(hours=1)
    messages = [
        seed.add(
            t,
            f"bob@{d}",
            now - timedelta(hours=2),
            "graymail",
            "Graymail",
            ThreatType.GRAYMAIL,
            "forum",
            subject=f"incident forum {uuid.uuid4().hex[:6]}",
        )
        for t, d, _ in tenants
        for _ in range(3)
    ]
    # Given a run whose command stopped after queueing the first tenant's messages
    session = Session(local_target(Path(gateway.settings.state_dir), OPERATOR))
    selection = Selection(
        start=start,
        end=end,
        threat_types=[ThreatType.GRAYMAIL],
        subtypes=["forum"],
        tenants=[t for t, _, _ in tenants],
    )
    redelivery = session.redelivery()
    run = redelivery.start(selection, OPERATOR, rate_per_s=10)
    next(redelivery.queue(run, sorted(selection.tenants)))

    # When the operator runs it again by its id
    output = ok(gateway, "redeliver", "--run-id", run.run_id, "--idle-timeout", "60")

    # Then every message is released once, and the summary counts them per tenant
    for m in messages:
        wait_for(lambda m=m: delivered(peer, m))
    done = session.runs.messages(run.run_id)
    assert len(done) == 6 and {m.outcome for m in done} == {"released"}
    assert all(len(delivered(peer, m)) == 1 for m in messages)
    for tenant_id, _, _ in tenants:
        assert re.search(rf"{tenant_id}\s*│\s*3\s*│\s*3\s*│\s*0", output), output
