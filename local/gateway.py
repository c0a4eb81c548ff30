"""The whole gateway on one machine: moto's server for AWS, the SMTP front on both ports,
SQS runners for scan, deliver and the export worker, the API on HTTP, and the demo tenant's
mail server."""

from __future__ import annotations

import importlib
import json
import logging
import os
import secrets
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.resolver
from aiosmtpd.controller import Controller

from functions.receive.front import start_fronts
from local import bootstrap
from local.api_server import LocalApi
from local.demo_zone import DEMO_ZONE
from local.dns_server import ZoneServer
from local.emulator_process import EmulatorProcess
from local.engines import daemons
from local.engines.daemons import Daemon
from local.settings import LocalSettings
from local.sink import start_sink
from local.sqs_runner import QueueRunner
from mailgate import resources
from mailgate.resources import API_ROUTES
from mailgate.settings import Engines as EngineSettings
from mailgate.settings import ReceiveSettings
from mailgate.storage.tenants import TenantConfigStore, TenantStore

log = logging.getLogger(__name__)

DEMO_KEY_FILE = "demo-api-key"
ENDPOINTS_FILE = "endpoints.json"


def _handler(function_id: str) -> Any:
    spec = next(f for f in resources.FUNCTIONS if f.id == function_id)
    module, _, name = spec.handler.rpartition(".")
    return getattr(importlib.import_module(module), name)


class PortInUse(Exception):
    pass


def _check_ports_free(bind: str, ports: dict[str, int]) -> None:
    for variable, port in ports.items():
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
            try:
                probe.bind((bind, port))
            except OSError as error:
                raise PortInUse(
                    f"{bind}:{port} is in use ({error.strerror}); stop what holds it "
                    f"or choose another port with {variable}."
                ) from error


@dataclass(frozen=True)
class Running:
    api_key: str
    sink_dir: Path
    engines: dict[str, Daemon | None]  # None: not installed


class LocalGateway:
    def __init__(self, settings: LocalSettings) -> None:
        self.settings = settings
        self.state_dir = Path(settings.state_dir).resolve()
        self._stoppers: list[Any] = []

    def start(self) -> Running:
        s = self.settings
        _check_ports_free(
            s.bind,
            {
                "MAILGATE_AWS_PORT": s.aws_port,
                "MAILGATE_SMTP_PORT": s.smtp_port,
                "MAILGATE_RELAY_PORT": s.relay_port,
                "MAILGATE_API_PORT": s.api_port,
                "MAILGATE_SINK_PORT": s.sink_port,
                "MAILGATE_LOCAL_RSPAMD_PORT": s.rspamd_port,
                "MAILGATE_LOCAL_CLAMD_PORT": s.clamd_port,
            },
        )
        self.state_dir.mkdir(parents=True, exist_ok=True)
        emulator = EmulatorProcess(s.bind, s.aws_port, self.state_dir, s.snapshot_bytes)
        os.environ.update(
            AWS_ENDPOINT_URL=emulator.endpoint,
            AWS_ACCESS_KEY_ID="local",
            AWS_SECRET_ACCESS_KEY="local",  # noqa: S106 - moto accepts any credentials
            AWS_DEFAULT_REGION=s.region,
            MAILGATE_BIND=s.bind,
        )
        # The console is served beside the API: the links of the notices sent to tenants.
        os.environ.setdefault("MAILGATE_CONSOLE_URL", f"http://{s.bind}:{s.api_port}")
        emulator.start()
        self._stoppers.append(emulator.stop)
        if not s.dns_servers:
            self._start_demo_dns(s.local_dns_port)
        names = bootstrap.create_resources(s.region)
        os.environ.update(names)
        engines = self._start_engines()

        api_key = self._demo_key()
        table = resources.TENANTS.local_name
        bootstrap.create_demo_tenant(
            TenantStore(table), TenantConfigStore(table), api_key, s.bind, s.sink_port
        )

        sink_dir = self.state_dir / "sink"
        self._start_controller(start_sink(s.bind, s.sink_port, sink_dir))
        for queue, function_id, scaling in (
            (resources.SCAN_QUEUE, "scan", s.scan_scaling),
            (resources.DELIVER_QUEUE, "deliver", s.deliver_scaling),
            (resources.EXPORT_QUEUE, "export-worker", s.export_scaling),
            (resources.REDELIVER_QUEUE, "redeliver", s.redeliver_scaling),
        ):
            runner = QueueRunner(
                function_id, os.environ[queue.env_var], s.region, _handler(function_id), scaling
            )
            runner.start()
            self._stoppers.append(runner.stop)
        api = LocalApi(
            s.bind,
            s.api_port,
            s.region,
            authorizer=_handler("authorizer"),
            functions={route.function: _handler(route.function) for route in API_ROUTES},
            console=Path(s.console_dir) if s.console_dir else None,
        )
        api.start()
        self._stoppers.append(api.stop)
        for controller in start_fronts(ReceiveSettings()):
            self._start_controller(controller)
        self._write_endpoints(emulator.endpoint, names)
        return Running(api_key=api_key, sink_dir=sink_dir, engines=engines)

    def stop(self) -> None:
        while self._stoppers:
            stop = self._stoppers.pop()
            try:
                stop()
            except Exception:
                log.exception("error while stopping")

    def _start_engines(self) -> dict[str, Daemon | None]:
        """rspamd and clamd as child processes when installed; the scan function finds them
        through the same settings as in AWS. An engine not installed stays unconfigured."""
        s = self.settings
        timeout_s = EngineSettings().engine_timeout_s
        max_bytes = EngineSettings().clamd_max_bytes
        if not s.engines:
            log.warning("the engines are off: their rules record no verdict")
            return {"rspamd": None, "clamd": None}
        engines = {
            "rspamd": daemons.rspamd(s.rspamd_port, timeout_s),
            "clamd": daemons.clamd(s.clamd_port, timeout_s, max_bytes),
        }
        variables = {"rspamd": "MAILGATE_RSPAMD_URL", "clamd": "MAILGATE_CLAMD_ADDRESS"}
        for name, daemon in engines.items():
            if daemon is None:
                log.warning("%s is not running: its rules record no verdict", name)
                continue
            self._stoppers.append(daemon.close)
            daemon.start()
            os.environ[variables[name]] = daemon.address
        os.environ.setdefault("MAILGATE_RSPAMD_RULES_VERSION", daemons.rules_version())
        return engines

    def _start_controller(self, controller: Controller) -> None:
        self._stoppers.append(controller.stop)

    def _start_demo_dns(self, port: int) -> None:
        """Demo domains from our own zone, every other name from the system resolver."""
        try:
            forwarder: dns.resolver.Resolver | None = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            forwarder = None
        server = ZoneServer(DEMO_ZONE, forwarder=forwarder, port=port).start()
        self._stoppers.append(server.stop)
        os.environ["MAILGATE_DNS_SERVERS"] = server.address

    def _write_endpoints(self, aws_endpoint: str, names: dict[str, str]) -> None:
        """Where another process (the operator tool) finds this gateway: the emulator, the
        region and the resources' names, by the environment variable each is read from."""
        s = self.settings
        path = self.state_dir / ENDPOINTS_FILE
        path.write_text(
            json.dumps(
                {
                    "aws_endpoint": aws_endpoint,
                    "region": s.region,
                    "api": f"http://{s.bind}:{s.api_port}/v1/",
                    "resources": names,
                },
                indent=2,
            )
        )
        self._stoppers.append(lambda: path.unlink(missing_ok=True))

    def _demo_key(self) -> str:
        if self.settings.demo_api_key:
            return self.settings.demo_api_key
        path = self.state_dir / DEMO_KEY_FILE
        if not path.exists():
            path.write_text(secrets.token_urlsafe(24))
            path.chmod(0o600)
        return path.read_text().strip()
