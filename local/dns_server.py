"""A small DNS server on loopback (UDP) answering from a dict zone, and forwarding other names.

``ZoneServer({("example.com", "MX"): ["10 mx1.example.com."], ...})`` answers:

- the records of ``(name, type)`` when the zone has them;
- NOERROR with an empty answer when the name has records of other types only;
- for any other name: the forwarder's answer when one is given (SERVFAIL if it fails),
  NXDOMAIN otherwise.

The local runtime serves its demo domains with it (forwarding the rest to the system
resolver), so mail from and to them passes the stage-1 DNS checks on a machine without
internet; tests serve their own zones. Names are matched case-insensitively, with or without
the trailing dot; records go out in the order the zone lists them.
"""

from __future__ import annotations

import socket
import threading

import dns.exception
import dns.flags
import dns.message
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset

TTL = 60


def canonical(name: str) -> str:
    return name.lower().rstrip(".") + "."


class ZoneServer:
    def __init__(
        self,
        zone: dict[tuple[str, str], list[str]],
        forwarder: dns.resolver.Resolver | None = None,
        port: int = 0,
    ) -> None:
        self._zone = {
            (canonical(name), rdtype.upper()): rdatas for (name, rdtype), rdatas in zone.items()
        }
        self._names = {name for name, _ in self._zone}
        self._forwarder = forwarder
        self._port = port
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

    def start(self) -> ZoneServer:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self._socket.bind(("127.0.0.1", self._port))
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

    def __enter__(self) -> ZoneServer:
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
        if (name, rdtype) in self._zone:
            records = self._zone[(name, rdtype)]
            response.answer.append(
                dns.rrset.from_text(name, TTL, dns.rdataclass.IN, rdtype, *records)
            )
        elif name not in self._names:
            self._forward(question, response)
        return response.to_wire(want_shuffle=False)

    def _forward(self, question: dns.rrset.RRset, response: dns.message.Message) -> None:
        if self._forwarder is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return
        response.flags &= ~dns.flags.AA
        try:
            answer = self._forwarder.resolve(
                question.name, question.rdtype, raise_on_no_answer=False
            )
        except dns.resolver.NXDOMAIN:
            response.set_rcode(dns.rcode.NXDOMAIN)
        except dns.exception.DNSException:
            response.set_rcode(dns.rcode.SERVFAIL)
        else:
            if answer.rrset is not None:
                response.answer.append(answer.rrset)
