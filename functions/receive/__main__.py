"""The SMTP front as a container service: ``python -m functions.receive``."""

from __future__ import annotations

import logging
import signal
import threading

from functions.receive.front import start_fronts
from mailgate.observability import log_through_shared_logger
from mailgate.settings import ReceiveSettings


def main() -> None:
    log_through_shared_logger(terminal=False)
    # aiosmtpd logs every command line at INFO; the front logs each decision instead.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    controllers = start_fronts(ReceiveSettings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for controller in controllers:
        controller.stop()


main()
