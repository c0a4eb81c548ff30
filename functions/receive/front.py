"""Wires the SMTP front from its settings: both ports, caches, checks' services, hand-off."""

from __future__ import annotations

import asyncio
import ipaddress
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from aiosmtpd.controller import Controller

from functions.receive.admission import Admission
from functions.receive.blocked_log import BlockedLog
from functions.receive.checks import Services, SystemPolicy
from functions.receive.flow import InFlow
from functions.receive.intake import Intake
from functions.receive.lookups import Lookups
from functions.receive.protocol import FrontController
from functions.receive.routing import DomainDirectory
from functions.receive.smtp_front import FrontHandler
from mailgate import countries, dns, tls
from mailgate.catalog import Direction
from mailgate.settings import ReceiveSettings
from mailgate.storage.counters import RateCounters
from mailgate.storage.mail import MailStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import TenantConfigStore, TenantStore
from mailgate.storage.tracking import TrackingStore
from mailgate.tenant_config import TenantConfig
from mailgate.tenants import SuspendedTenants
from mailgate.ttl_cache import TtlCache


def system_policy(settings: ReceiveSettings) -> SystemPolicy:
    zones = {}
    for entry in settings.ip_reputation_zones:
        name, _, zone = entry.partition("=")
        if name.strip().lower() not in ("qil", "kssl", "dul", "etl") or not zone.strip():
            raise ValueError(
                f"MAILGATE_IP_REPUTATION_ZONES: '{entry}' is not list=zone "
                "(lists: qil, kssl, dul, etl)"
            )
        zones[name.strip().lower()] = zone.strip().rstrip(".")
    return SystemPolicy(
        blocked_networks=tuple(
            ipaddress.ip_network(network, strict=False) for network in settings.blocked_ips
        ),
        blocked_recipients=tuple(p.lower() for p in settings.blocked_recipients),
        reputation_zones=zones,
    )


def start_fronts(settings: ReceiveSettings) -> list[Controller]:
    tenants = TenantStore(settings.tenants_table)
    configs_store = TenantConfigStore(settings.tenants_table)
    tracking = TrackingStore(settings.tracking_table, settings.tracking_shards)
    directory = DomainDirectory(tenants.domain)
    configs: TtlCache[TenantConfig] = TtlCache(lambda tenant: configs_store.get(tenant)[0])
    pool = ThreadPoolExecutor(max_workers=settings.worker_threads, thread_name_prefix="front")
    scan_queue = JobQueue(settings.scan_queue_url)
    deliver_queue = JobQueue(settings.deliver_queue_url)
    intake = Intake(MailStore(settings.mail_bucket), tracking, scan_queue)
    admission = Admission(
        directory, configs, BlockedLog(tracking), suspended=SuspendedTenants(tenants.tenant)
    )
    policy = system_policy(settings)
    counters = RateCounters(settings.counters_table)
    resolver = dns.resolver(settings.dns_servers, timeout=settings.dns_timeout_s)
    countries.load(settings.geoip_data_file)  # read now, not while the first clients wait

    def backlog() -> int:
        return scan_queue.waiting() + deliver_queue.waiting(in_flight=False)

    async def blocking(read: Callable[[], int]) -> int:
        return await asyncio.get_running_loop().run_in_executor(pool, read)

    in_flow = InFlow(backlog, settings.in_flow_backlog, settings.in_flow_delay_s, blocking)

    def services() -> Services:
        lookups = Lookups(resolver, lambda ip: countries.country_of(ip, settings.geoip_data_file))
        return Services(lookups=lookups, counters=counters, system=policy)

    if settings.tls_cert_file and settings.tls_key_file:
        context = tls.server_context(Path(settings.tls_cert_file), Path(settings.tls_key_file))
    else:
        with tempfile.TemporaryDirectory(prefix="mailgate-") as scratch:
            context = tls.server_context(*tls.self_signed(settings.hostname, Path(scratch)))
    controllers: list[Controller] = []
    for direction, port in (
        (Direction.INBOUND, settings.smtp_port),
        (Direction.OUTBOUND, settings.relay_port),
    ):
        handler = FrontHandler(direction, admission, intake, settings.max_recipients, pool, in_flow)
        controller = FrontController(
            handler,
            services=services,
            hostname=settings.bind,
            port=port,
            server_hostname=settings.hostname,
            ident="mailgate ESMTP",
            data_size_limit=settings.max_message_bytes,
            enable_SMTPUTF8=True,
            decode_data=False,
            tls_context=context,
            require_starttls=False,
            timeout=settings.idle_timeout_s,
        )
        controller.start()
        controllers.append(controller)
    return controllers
