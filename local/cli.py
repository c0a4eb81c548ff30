"""The ``mailgate`` command: ``mailgate up`` runs the whole gateway locally in the foreground."""

from __future__ import annotations

import logging
import signal
import threading

import click

from local.bootstrap import DEMO_DOMAIN
from local.emulator_process import EmulatorFailed
from local.engines.daemons import EngineNotStarted
from local.export_command import export
from local.gateway import LocalGateway, PortInUse
from local.settings import LocalSettings
from mailgate.observability import log_through_shared_logger
from ops.cli import ops

BANNER = """\
mailgate is running (Ctrl-C stops it; state is kept in {state})
  inbound SMTP   {bind}:{smtp}   mail to *@{domain} is accepted for the demo tenant
  outbound relay {bind}:{relay}   the demo tenant relays from *@{domain}
  admin console  http://{bind}:{api}/   (sign in with the key below)
  tenant API     http://{bind}:{api}/v1/   (OpenAPI: /v1/openapi.json)
  AWS (moto)     http://{bind}:{aws}
  demo mail server {bind}:{sink} keeps delivered mail in {sink_dir}
  demo API key   {key}
  engines        {engines}
Try:
  python3 -c "import smtplib; smtplib.SMTP('{bind}', {smtp}).sendmail('a@sender.test', \
['someone@{domain}'], 'Subject: hello\\r\\n\\r\\nhi')"
  curl -s -H 'Authorization: Bearer {key}' -H 'Content-Type: application/json' \
-d '{{"period": "1h"}}' http://{bind}:{api}/v1/tracking/search
"""


@click.group()
def main() -> None:
    """mailgate: a multi-tenant email security gateway."""


@main.command()
def up() -> None:
    """Run the whole gateway locally until Ctrl-C."""
    log_through_shared_logger(terminal=True)
    for noisy in ("werkzeug", "botocore", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    settings = LocalSettings()
    gateway = LocalGateway(settings)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        running = gateway.start()
    except (PortInUse, EmulatorFailed, EngineNotStarted) as error:
        raise SystemExit(f"mailgate: {error}") from None
    except BaseException:
        gateway.stop()
        raise
    try:
        print(
            BANNER.format(
                state=gateway.state_dir,
                bind=settings.bind,
                smtp=settings.smtp_port,
                relay=settings.relay_port,
                api=settings.api_port,
                aws=settings.aws_port,
                sink=settings.sink_port,
                sink_dir=running.sink_dir,
                domain=DEMO_DOMAIN,
                key=running.api_key,
                engines=", ".join(
                    f"{name} at {daemon.address}"
                    if daemon
                    else f"{name} off (not installed or MAILGATE_LOCAL_ENGINES=false)"
                    for name, daemon in running.engines.items()
                ),
            ),
            flush=True,
        )
        stop.wait()
    finally:
        gateway.stop()
        print("mailgate stopped; state saved.", flush=True)


main.add_command(export)
main.add_command(ops)

if __name__ == "__main__":
    main()
