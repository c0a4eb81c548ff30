"""Wires the SMTP front from its settings: both ports, the directory, the hand-off."""

from __future__ import annotations

from aiosmtpd.controller import Controller

from functions.receive.intake import Intake
from functions.receive.routing import DomainDirectory
from functions.receive.smtp_front import FrontHandler, start_front
from mailgate.catalog import Direction
from mailgate.settings import ReceiveSettings
from mailgate.storage.mail import MailStore
from mailgate.storage.queues import JobQueue
from mailgate.storage.tenants import TenantStore
from mailgate.storage.tracking import TrackingStore


def start_fronts(settings: ReceiveSettings) -> list[Controller]:
    directory = DomainDirectory(TenantStore(settings.tenants_table).domain)
    intake = Intake(
        MailStore(settings.mail_bucket),
        TrackingStore(settings.tracking_table),
        JobQueue(settings.scan_queue_url),
    )
    controllers = []
    for direction, port in (
        (Direction.INBOUND, settings.smtp_port),
        (Direction.OUTBOUND, settings.relay_port),
    ):
        handler = FrontHandler(direction, directory, intake, settings.max_recipients)
        controllers.append(
            start_front(handler, settings.bind, port, settings.hostname, settings.max_message_bytes)
        )
    return controllers
