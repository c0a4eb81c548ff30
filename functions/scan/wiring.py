"""The scan function's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache, partial

from functions.scan.actions import Applier
from functions.scan.evidence.auth.producer import DomainAuthProducer
from functions.scan.evidence.bec import Bec
from functions.scan.evidence.graymail import Graymail
from functions.scan.evidence.spam import SpamProducer
from functions.scan.evidence.urls.reputation import UrlReputation, zones
from functions.scan.evidence.verdicts import Producer
from functions.scan.evidence.virus import VirusProducer
from functions.scan.stage import ScanStage
from mailgate import dns, resources
from mailgate.dead_letters import DeadLetterMarker
from mailgate.engines.clamd import ClamdClient
from mailgate.engines.rspamd import RspamdClient
from mailgate.origination import Originator
from mailgate.queue_consumer import Failures
from mailgate.settings import ScanSettings
from mailgate.storage.mail import MailStore
from mailgate.storage.policy_events import PolicyEventStore
from mailgate.storage.quarantine import QuarantineStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore
from mailgate.tenant_config import TenantConfig
from mailgate.ttl_cache import TtlCache


@cache
def settings() -> ScanSettings:
    return ScanSettings()


@cache
def scan_queue() -> JobQueue:
    return JobQueue(settings().scan_queue_url)


def producers(settings: ScanSettings) -> list[Producer]:
    """The detection engines that are configured (an engine without an address is not)."""
    found: list[Producer] = []
    if settings.rspamd_url:
        client = RspamdClient(settings.rspamd_url, settings.engine_timeout_s)
        found.append(SpamProducer(client, settings.rspamd_rules_version))
    if settings.clamd_address:
        found.append(
            VirusProducer(
                ClamdClient(
                    settings.clamd_address, settings.engine_timeout_s, settings.clamd_max_bytes
                )
            )
        )
    return found


@cache
def stage() -> ScanStage:
    s = settings()
    tracking = TrackingStore(s.tracking_table, s.tracking_shards)
    mail = MailStore(s.mail_bucket)
    deliver = JobQueue(s.deliver_queue_url)
    config_store = TenantConfigStore(s.tenants_table)
    configs: TtlCache[TenantConfig] = TtlCache(lambda tenant: config_store.get(tenant)[0])
    applier = Applier(
        tracking,
        mail,
        deliver,
        PolicyEventStore(s.policy_table),
        QuarantineStore(s.policy_table),
        Originator(mail, tracking, deliver, TenantStore(s.tenants_table)),
    )
    resolver = dns.resolver(s.dns_servers, s.dns_timeout_s)
    detectors: list[Producer] = [
        DomainAuthProducer(lambda tenant: configs.find(tenant).domain_auth, resolver, s.hostname),
        *producers(s),
        Graymail(),
        UrlReputation(
            zones(s.url_reputation_zones), partial(dns.a_records, res=resolver), configs.find
        ),
        Bec(configs.find),
    ]
    return ScanStage(tracking, mail, configs.find, detectors, applier)


@cache
def failures() -> Failures:
    """A failed scan comes back after the queue's visibility timeout, or the engine retry's
    own delay (``EnginesUnavailable``); its last run marks the rows."""
    tracking = TrackingStore(settings().tracking_table, settings().tracking_shards)
    return Failures(resources.SCAN_QUEUE.max_receive_count, DeadLetterMarker(tracking, "scan"))
