"""The deliver function's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache, partial

from functions.deliver import routing, smtp_client
from functions.deliver.authentication import Authenticator
from functions.deliver.dane import DaneLookup
from functions.deliver.dnssec import TrustAnchor, Validator
from functions.deliver.mta_sts import PolicySource
from functions.deliver.stage import DeliverStage
from mailgate import dns
from mailgate.origination import Originator
from mailgate.settings import DeliverSettings
from mailgate.storage.mail import MailStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import CachedTenantConfigs, TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore


@cache
def stage() -> DeliverStage:
    settings = DeliverSettings()
    resolver = dns.resolver(settings.dns_servers, timeout=settings.dns_timeout_s)
    tracking = TrackingStore(settings.tracking_table)
    tenants = TenantStore(settings.tenants_table)
    mail = MailStore(settings.mail_bucket)
    queue = JobQueue(settings.deliver_queue_url)
    return DeliverStage(
        tracking=tracking,
        tenants=tenants,
        configs=CachedTenantConfigs(TenantConfigStore(settings.tenants_table)),
        mail=mail,
        queue=queue,
        send=partial(smtp_client.deliver, helo=settings.hostname, timeout=settings.smtp_timeout_s),
        lookup_mx=partial(routing.mx_servers, res=resolver, port=settings.outbound_port),
        retry_schedule_s=settings.retry_schedule_s,
        queue_lifetime_s=settings.queue_lifetime_s,
        hostname=settings.hostname,
        claim_s=settings.delivery_claim_s,
        originator=Originator(mail, tracking, queue, tenants),
        authenticate=Authenticator(
            DaneLookup(
                Validator(
                    dns.resolver(settings.dns_servers, timeout=settings.dns_timeout_s),
                    TrustAnchor.parse(settings.dnssec_trust_anchor),
                )
            ),
            PolicySource(
                resolver,
                port=settings.mta_sts_port,
                ca_bundle=settings.tls_ca_bundle,
                timeout=settings.mta_sts_timeout_s,
            ),
        ),
    )
