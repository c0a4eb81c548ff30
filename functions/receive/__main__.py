"""The SMTP front as a container service: ``python -m functions.receive``."""

from __future__ import annotations

import logging
import signal
import threading

from functions.receive.front import start_fronts
from mailgate.settings import ReceiveSettings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    controllers = start_fronts(ReceiveSettings())
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    stop.wait()
    for controller in controllers:
        controller.stop()


main()
