"""The scan function's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache, partial

from functions.scan.actions import Applier
from functions.scan.evidence.auth.producer import DomainAuthProducer
from functions.scan.evidence.bec import Bec
from functions.scan.evidence.graymail import Graymail
from functions.scan.evidence.urls.reputation import UrlReputation, zones
from functions.scan.evidence.verdicts import Producer
from functions.scan.stage import ScanStage
from mailgate import dns
from mailgate.origination import Originator
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
def stage() -> ScanStage:
    settings = ScanSettings()
    tracking = TrackingStore(settings.tracking_table)
    mail = MailStore(settings.mail_bucket)
    deliver = JobQueue(settings.deliver_queue_url)
    config_store = TenantConfigStore(settings.tenants_table)
    configs: TtlCache[TenantConfig] = TtlCache(lambda tenant: config_store.get(tenant)[0])
    applier = Applier(
        tracking,
        mail,
        deliver,
        PolicyEventStore(settings.policy_table),
        QuarantineStore(settings.policy_table),
        Originator(mail, tracking, deliver, TenantStore(settings.tenants_table)),
    )
    resolver = dns.resolver(settings.dns_servers, settings.dns_timeout_s)
    domain_auth = DomainAuthProducer(
        lambda tenant: configs.find(tenant).domain_auth, resolver, settings.hostname
    )
    producers: list[Producer] = [
        domain_auth,
        Graymail(),
        UrlReputation(
            zones(settings.url_reputation_zones),
            partial(dns.a_records, res=resolver),
            configs.find,
        ),
        Bec(configs.find),
    ]
    return ScanStage(tracking, mail, configs.find, producers, applier)
