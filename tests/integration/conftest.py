"""The whole local gateway, started once in this process on free loopback ports."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from local.demo_zone import DEMO_ZONE
from local.engines.daemons import Daemon
from local.gateway import LocalGateway
from local.settings import LocalSettings
from mailgate import resources
from mailgate.auth import SCOPES
from mailgate.storage.tenants import ApiKey, TenantConfigStore, TenantStore
from mailgate.tenant_config import DomainConfig, MailServer, TenantConfig
from tests.support.api_client import ApiClient
from tests.support.dns_server import LoopbackDns
from tests.support.ports import free_port
from tests.support.smtp_peer import ScriptedServer

DEMO_KEY = "integration-demo-key"
REPUTATION_ZONES = {
    "qil": "qil.rbl.test",
    "kssl": "kssl.rbl.test",
    "dul": "dul.rbl.test",
    "etl": "etl.rbl.test",
}
# Loopback client addresses with a story: each test connects from the one it needs.
LISTED_IPS = {"qil": "127.0.1.1", "kssl": "127.0.1.2", "dul": "127.0.1.3", "etl": "127.0.1.4"}
SYSTEM_BLOCKED_IP = "127.0.6.6"
SYSTEM_BLOCKED_RECIPIENTS = "blocked-*@example.com"
NO_PTR_IP = "127.0.2.1"  # no reverse DNS at all
UNCONFIRMED_PTR_IP = "127.0.2.2"  # PTR name does not resolve back
SILENT_NAMES = ["slow.test"]
# URI block lists (SURBL/URIBL style) of stage 2, and a domain each lists.
URL_ZONES = {"phishing": "phish.uribl.test", "web_reputation": "wrs.uribl.test"}
LISTED_URL_DOMAINS = {"phishing": "credential-harvest.test", "web_reputation": "malware-drop.test"}
# Domains that resolve (A 127.0.0.1) and belong to no tenant until a test claims one as the
# managed domain of a tenant sending through the relay (the relay checks the sender's domain).
STAGE1_RELAY_DOMAINS = {
    "recipient_domain_not_found": "s1-relay-rdnf.test",
    "recipient_domain_malformed": "s1-relay-rdmf.test",
    "message_too_big": "s1-relay-size.test",
    "rate_limit": "s1-relay-rate.test",
    "recipient_blocked": "s1-relay-blocked.test",
}


def _reversed(ip: str, zone: str) -> str:
    return ".".join(reversed(ip.split("."))) + "." + zone


TEST_ZONE: dict[tuple[str, str], list[str]] = {
    **{
        (_reversed(ip, REPUTATION_ZONES[name]), "A"): ["127.0.0.2"]
        for name, ip in LISTED_IPS.items()
    },
    (_reversed(UNCONFIRMED_PTR_IP, "in-addr.arpa"), "PTR"): ["liar.test."],
    ("liar.test", "A"): ["192.0.2.1"],
    ("nullmx.test", "MX"): ["0 ."],
    ("iplit.test", "MX"): ["10 192.0.2.7."],
    ("noaddr.test", "MX"): ["10 nowhere.noaddr.test."],
    ("noaddr.test", "TXT"): ['"v=spf1 -all"'],
    ("aonly.test", "A"): ["127.0.0.1"],
    ("slow.test", "MX"): ["10 mx.slow.test."],
    ("dsn.test", "A"): ["127.0.0.1"],
    ("related.test", "A"): ["127.0.0.1"],  # a tenant whose own users send (related messages)
    **{
        (f"{LISTED_URL_DOMAINS[threat]}.{zone}", "A"): ["127.0.0.2"]
        for threat, zone in URL_ZONES.items()
    },  # a tenant's domain that also sends (its DSNs return)
    **{(name, "A"): ["127.0.0.1"] for name in STAGE1_RELAY_DOMAINS.values()},
    # Domain authentication: a sender whose SPF allows loopback and publishes DMARC reject,
    # and one whose SPF allows nothing.
    ("auth-pass.test", "A"): ["127.0.0.1"],
    ("auth-pass.test", "TXT"): ['"v=spf1 ip4:127.0.0.0/8 -all"'],
    ("_dmarc.auth-pass.test", "TXT"): ['"v=DMARC1; p=reject"'],
    ("auth-fail.test", "A"): ["127.0.0.1"],
    ("auth-fail.test", "TXT"): ['"v=spf1 -all"'],
    ("_dmarc.auth-fail.test", "TXT"): ['"v=DMARC1; p=quarantine"'],
}


@dataclass
class Gateway:
    settings: LocalSettings
    api: ApiClient
    sink_dir: Path
    tenants: TenantStore
    engines: dict[str, Daemon | None]

    @property
    def smtp(self) -> tuple[str, int]:
        return "127.0.0.1", self.settings.smtp_port

    @property
    def relay(self) -> tuple[str, int]:
        return "127.0.0.1", self.settings.relay_port

    def client(self, api_key: str | None) -> ApiClient:
        return ApiClient(self.api.base_url, api_key)

    def add_tenant(
        self, tenant_id: str, domain: str, server: ScriptedServer, scopes: list[str] | None = None
    ) -> ApiClient:
        """A tenant whose inbound server is ``server``; returns an API client with its key."""
        self.tenants.put_tenant(tenant_id, tenant_id)
        config = TenantConfig(
            domains=[
                DomainConfig(
                    name=domain, inbound_servers=[MailServer(host="127.0.0.1", port=server.port)]
                )
            ]
        )
        configs = TenantConfigStore(resources.TENANTS.local_name)
        configs.put(tenant_id, config, expected_version=configs.get(tenant_id)[1])
        key = f"key-{tenant_id}"
        self.tenants.put_api_key(key, ApiKey(tenant_id=tenant_id, scopes=scopes or list(SCOPES)))
        return self.client(key)


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    ports = {
        "MAILGATE_SMTP_PORT": free_port(),
        "MAILGATE_RELAY_PORT": free_port(),
        "MAILGATE_API_PORT": free_port(),
        "MAILGATE_AWS_PORT": free_port(),
        "MAILGATE_SINK_PORT": free_port(),
        "MAILGATE_LOCAL_RSPAMD_PORT": free_port(),
        "MAILGATE_LOCAL_CLAMD_PORT": free_port(),
    }
    os.environ.update({name: str(port) for name, port in ports.items()})
    dns_server = LoopbackDns({**DEMO_ZONE, **TEST_ZONE}, silent=SILENT_NAMES).start()
    os.environ.update(
        MAILGATE_DNS_SERVERS=dns_server.address,
        MAILGATE_DNS_TIMEOUT_S="1",
        MAILGATE_IP_REPUTATION_ZONES=",".join(f"{n}={z}" for n, z in REPUTATION_ZONES.items()),
        MAILGATE_URL_REPUTATION_ZONES=",".join(f"{t}={z}" for t, z in URL_ZONES.items()),
        MAILGATE_BLOCKED_IPS=SYSTEM_BLOCKED_IP,
        MAILGATE_BLOCKED_RECIPIENTS=SYSTEM_BLOCKED_RECIPIENTS,
        MAILGATE_STATE_DIR=str(tmp_path_factory.mktemp("state")),
        MAILGATE_DEMO_API_KEY=DEMO_KEY,
        MAILGATE_RETRY_SCHEDULE_S="1",
        MAILGATE_SMTP_TIMEOUT_S="5",
        # An engine that fails is retried three times, a second apart, before its rule's
        # fallback: time for a killed engine to be started again.
        MAILGATE_ENGINE_ATTEMPTS="4",
        MAILGATE_ENGINE_RETRY_S="1",
        # A deliver job that fails is received again a second later, so a poison job reaches
        # the dead-letter queue within seconds.
        MAILGATE_FAILED_JOB_RETRY_S="1",
        MAILGATE_ENGINE_TIMEOUT_S="5",
    )
    settings = LocalSettings()
    local = LocalGateway(settings)
    running = local.start()
    try:
        yield Gateway(
            settings=settings,
            api=ApiClient(f"http://127.0.0.1:{settings.api_port}", running.api_key),
            sink_dir=running.sink_dir,
            tenants=TenantStore(resources.TENANTS.local_name),
            engines=running.engines,
        )
    finally:
        local.stop()
        dns_server.stop()


@pytest.fixture
def peer() -> Iterator[ScriptedServer]:
    server = ScriptedServer().start()
    yield server
    server.stop()
