"""Clients of the detection engines that run as services beside the functions (rspamd, clamd):
their wire protocols, bounded in time and size, and nothing about policies."""

from __future__ import annotations

import random
import socket
from collections.abc import Iterable
from time import monotonic
from typing import Any

# How long the addresses found for an engine's name are used: the TTL of its DNS records in
# AWS (infra/constructs/engines.py), where each look-up is a query to the VPC's resolver.
RESOLVED_FOR_S = 10.0


class EngineError(Exception):
    """The engine gave no usable answer: unreachable, too slow, or an answer we cannot read."""


class OverLimit(EngineError):
    """The input is over the engine's limit: asking again gives the same answer."""


class EngineAddress:
    """Where an engine listens. Its name is looked up once per ``RESOLVED_FOR_S``, not once
    per message, and again after a failed connection. A connection tries the addresses found
    in random order, so the tasks of a service share its load."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._found: list[tuple[socket.AddressFamily, Any]] = []
        self._until = 0.0

    def connect_and_send(
        self, timeout_s: float, chunks: Iterable[bytes | bytearray]
    ) -> socket.socket:
        """A connection with ``chunks`` written on it, for the caller to read the answer from
        later (so other engines can be asked meanwhile); OSError if either fails."""
        try:
            sock = self._connect(timeout_s)
        except OSError:
            self._until = 0.0  # what was found may be stale: the next connection looks again
            raise
        try:
            for chunk in chunks:
                sock.sendall(chunk)
        except OSError:
            sock.close()
            self._until = 0.0
            raise
        return sock

    def _connect(self, timeout_s: float) -> socket.socket:
        found = self._addresses()
        failure: OSError | None = None
        for family, address in random.sample(found, len(found)) if len(found) > 1 else found:
            sock = socket.socket(family, socket.SOCK_STREAM)
            try:
                sock.settimeout(timeout_s)  # the timeout of each operation
                sock.connect(address)
            except OSError as error:
                sock.close()
                failure = error
                continue
            return sock
        raise failure or OSError(f"no address found for {self.host}")

    def _addresses(self) -> list[tuple[socket.AddressFamily, Any]]:
        now = monotonic()
        if now >= self._until:
            answers = socket.getaddrinfo(self.host, self.port, type=socket.SOCK_STREAM)
            self._found = [(family, address) for family, _, _, _, address in answers]
            self._until = now + RESOLVED_FOR_S
        return self._found
