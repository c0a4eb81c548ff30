"""The deliver function's objects, built from its settings on first use (not at import)."""

from __future__ import annotations

from functools import cache, partial

from functions.deliver import routing, smtp_client
from functions.deliver.authentication import Authenticator
from functions.deliver.dane import DaneLookup
from functions.deliver.dnssec import TrustAnchor, Validator
from functions.deliver.mta_sts import PolicySource
from functions.deliver.stage import DeliverStage
from mailgate import dns, resources
from mailgate.dead_letters import DeadLetterMarker
from mailgate.origination import Originator
from mailgate.queue_consumer import Failures
from mailgate.settings import DeliverSettings
from mailgate.storage.mail import MailStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import CachedTenantConfigs, TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore


@cache
def settings() -> DeliverSettings:
    return DeliverSettings()


@cache
def tracking() -> TrackingStore:
    return TrackingStore(settings().tracking_table, settings().tracking_shards)


@cache
def queue() -> JobQueue:
    return JobQueue(settings().deliver_queue_url)


@cache
def stage() -> DeliverStage:
    s = settings()
    resolver = dns.resolver(s.dns_servers, timeout=s.dns_timeout_s)
    tenants = TenantStore(s.tenants_table)
    mail = MailStore(s.mail_bucket)
    return DeliverStage(
        tracking=tracking(),
        tenants=tenants,
        configs=CachedTenantConfigs(TenantConfigStore(s.tenants_table)),
        mail=mail,
        queue=queue(),
        send=partial(smtp_client.deliver, helo=s.hostname, timeout=s.smtp_timeout_s),
        lookup_mx=partial(routing.mx_servers, res=resolver, port=s.outbound_port),
        retry_schedule_s=s.retry_schedule_s,
        queue_lifetime_s=s.queue_lifetime_s,
        hostname=s.hostname,
        claim_s=s.delivery_claim_s,
        originator=Originator(mail, tracking(), queue(), tenants),
        authenticate=Authenticator(
            DaneLookup(
                Validator(
                    dns.resolver(s.dns_servers, timeout=s.dns_timeout_s),
                    TrustAnchor.parse(s.dnssec_trust_anchor),
                )
            ),
            PolicySource(
                resolver,
                port=s.mta_sts_port,
                ca_bundle=s.tls_ca_bundle,
                timeout=s.mta_sts_timeout_s,
            ),
        ),
        delay_warning_s=s.delay_warning_s,
    )


@cache
def failures() -> Failures:
    return Failures(
        max_receive_count=resources.DELIVER_QUEUE.max_receive_count,
        on_last=DeadLetterMarker(tracking(), "deliver"),
        retry_later=queue().retry_later,
        retry_s=settings().failed_job_retry_s,
    )
