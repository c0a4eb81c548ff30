"""The project's zone server with two faults a test may need: names that get no answer at
all (the client times out) and names answered SERVFAIL."""

from __future__ import annotations

from collections.abc import Iterable

import dns.message
import dns.rcode

from local.dns_server import ZoneServer, canonical


class LoopbackDns(ZoneServer):
    def __init__(
        self,
        zone: dict[tuple[str, str], list[str]],
        silent: Iterable[str] = (),
        servfail: Iterable[str] = (),
    ) -> None:
        super().__init__(zone)
        self._silent = {canonical(name) for name in silent}
        self._servfail = {canonical(name) for name in servfail}

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
            name = query.question[0].name.to_text().lower()
        except Exception:
            return super()._answer(wire)
        if name in self._silent:
            return None
        if name in self._servfail:
            response = dns.message.make_response(query)
            response.set_rcode(dns.rcode.SERVFAIL)
            return response.to_wire()
        return super()._answer(wire)
