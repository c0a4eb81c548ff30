"""The connection facts of an SMTP client: one shape from the socket to its tracking rows."""

from __future__ import annotations

from dataclasses import dataclass

from mailgate.catalog import Direction


@dataclass(frozen=True)
class Peer:
    direction: Direction  # the port it connected to: MX traffic or the outbound relay
    ip: str
    helo: str = ""
    tls: str = "none"  # negotiated version ("TLSv1.3") or "none"
