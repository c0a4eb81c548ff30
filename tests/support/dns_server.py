"""A tiny authoritative DNS server on loopback (UDP), answering from a dict zone.

``LoopbackDns({("example.com", "MX"): ["10 mx1.example.com."], ...})`` answers:

- the records of ``(name, type)`` when the zone has them;
- NOERROR with an empty answer when the name has records of other types only;
- NXDOMAIN when the zone does not know the name at all;
- SERVFAIL for names in ``servfail``;
- nothing at all (the client times out) for names in ``silent``.

Names are matched case-insensitively, with or without the trailing dot. Queries are answered
one at a time on one thread; every query seen is kept in ``queries`` as ``(name, type)``.
Records go out in the order the zone lists them (real servers may shuffle them), so a test can
tell sorting by the code under test from chance.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable

import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

TTL = 60


def _canonical(name: str) -> str:
    return name.lower().rstrip(".") + "."


class LoopbackDns:
    def __init__(
        self,
        zone: dict[tuple[str, str], list[str]],
        silent: Iterable[str] = (),
        servfail: Iterable[str] = (),
    ) -> None:
        self._zone = {
            (_canonical(name), rdtype.upper()): rdatas for (name, rdtype), rdatas in zone.items()
        }
        self._names = {name for name, _ in self._zone}
        self._silent = {_canonical(name) for name in silent}
        self._servfail = {_canonical(name) for name in servfail}
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.queries: list[tuple[str, str]] = []

    @property
    def address(self) -> str:
        """``"127.0.0.1:port"``, the form ``mailgate.dns.resolver`` takes."""
        if self._socket is None:
            raise RuntimeError("the server is not started")
        host, port = self._socket.getsockname()
        return f"{host}:{port}"

    def start(self) -> LoopbackDns:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.settimeout(0.05)  # how long stop() may wait for the thread to notice
        self._stopping.clear()
        self._thread = threading.Thread(target=self._serve, name="loopback-dns", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None

    def __enter__(self) -> LoopbackDns:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self._socket is not None
        while not self._stopping.is_set():
            try:
                wire, client = self._socket.recvfrom(65535)
            except TimeoutError:
                continue
            except OSError:
                return
            answer = self._answer(wire)
            if answer is not None:
                self._socket.sendto(answer, client)

    def _answer(self, wire: bytes) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:  # not DNS: ignore it, as a real server would
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA
        if not query.question:
            response.set_rcode(dns.rcode.FORMERR)
            return response.to_wire()
        question = query.question[0]
        name = question.name.to_text().lower()
        rdtype = dns.rdatatype.to_text(question.rdtype)
        self.queries.append((name, rdtype))
        if name in self._silent:
            return None
        if name in self._servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif (name, rdtype) in self._zone:
            records = self._zone[(name, rdtype)]
            response.answer.append(
                dns.rrset.from_text(name, TTL, dns.rdataclass.IN, rdtype, *records)
            )
        elif name not in self._names:
            response.set_rcode(dns.rcode.NXDOMAIN)
        return response.to_wire(want_shuffle=False)
