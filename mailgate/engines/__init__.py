"""Clients of the detection engines that run as services beside the functions (rspamd, clamd):
their wire protocols, bounded in time and size, and nothing about policies."""

from __future__ import annotations

import socket
from collections.abc import Iterable


class EngineError(Exception):
    """The engine gave no usable answer: unreachable, too slow, or an answer we cannot read."""


class OverLimit(EngineError):
    """The input is over the engine's limit: asking again gives the same answer."""


def connect_and_send(
    host: str, port: int, timeout_s: float, chunks: Iterable[bytes | bytearray]
) -> socket.socket:
    """A connection to the engine with ``chunks`` written on it, for the caller to read the
    answer from later (so other engines can be asked meanwhile); OSError if either fails."""
    sock = socket.create_connection((host, port), timeout_s)  # the timeout of each operation
    try:
        for chunk in chunks:
            sock.sendall(chunk)
    except OSError:
        sock.close()
        raise
    return sock
