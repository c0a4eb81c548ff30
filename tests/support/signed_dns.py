"""DNSSEC on loopback: zones made and signed in a test, served with their signatures and NSEC
denials, and the trust anchor (DS) that validates the top one."""

from __future__ import annotations

import dns.dnssec
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset
import dns.zone
from cryptography.hazmat.primitives.asymmetric import ec
from dns.dnssectypes import Algorithm

from local.dns_server import ZoneServer

SOA = "ns.{origin} hostmaster.{origin} 1 3600 600 86400 60"


def zone(origin: str, records: dict[tuple[str, str], list[str]]) -> dns.zone.Zone:
    """A zone of ``records`` (names relative to ``origin``, "@" for it), with SOA and NS."""
    text = [f"@ 60 IN SOA {SOA.format(origin=origin)}", f"@ 60 IN NS ns.{origin}"]
    text += [
        f"{name} 60 IN {rdtype} {rdata}" for (name, rdtype), rs in records.items() for rdata in rs
    ]
    return dns.zone.from_text("\n".join(text), origin=origin, relativize=False)


def sign(target: dns.zone.Zone) -> str:
    """Signs ``target`` with a new key (ECDSA P-256, NSEC); returns its DS record's text."""
    key = ec.generate_private_key(ec.SECP256R1())
    dnskey = dns.dnssec.make_dnskey(key.public_key(), Algorithm.ECDSAP256SHA256, flags=257)
    dns.dnssec.sign_zone(target, keys=[(key, dnskey)], lifetime=3600)
    return dns.dnssec.make_ds(_origin(target), dnskey, "SHA256").to_text()


class SignedDns(ZoneServer):
    """Answers from the deepest zone that holds the name (a DS from the zone above it), with
    the RRSIGs of what it returns: the record set, or SOA and NSEC for a denial."""

    def __init__(self, zones: list[dns.zone.Zone]) -> None:
        super().__init__({})
        self._zones = sorted(zones, key=lambda z: len(_origin(z)), reverse=True)

    def _answer(self, wire: bytes) -> bytes | None:
        query = dns.message.from_wire(wire)
        response = dns.message.make_response(query)
        question = query.question[0]
        name, rdtype = question.name, question.rdtype
        self.queries.append((name.to_text().lower(), dns.rdatatype.to_text(rdtype)))
        holder = next((z for z in self._zones if self._holds(z, name, rdtype)), None)
        if holder is None:
            response.set_rcode(dns.rcode.REFUSED)
            return response.to_wire()
        node = holder.get_node(name)
        found = node.get_rdataset(dns.rdataclass.IN, rdtype) if node else None
        if found is not None:
            self._add(response.answer, holder, name, rdtype)
            return response.to_wire()
        self._add(response.authority, holder, _origin(holder), dns.rdatatype.SOA)
        if node is not None:
            self._add(response.authority, holder, name, dns.rdatatype.NSEC)
        else:
            response.set_rcode(dns.rcode.NXDOMAIN)
            covering = max((n for n in holder.nodes if n < name), default=_origin(holder))
            self._add(response.authority, holder, covering, dns.rdatatype.NSEC)
        return response.to_wire()

    @staticmethod
    def _holds(
        candidate: dns.zone.Zone, name: dns.name.Name, rdtype: dns.rdatatype.RdataType
    ) -> bool:
        if rdtype == dns.rdatatype.DS:
            return name != _origin(candidate) and name.is_subdomain(_origin(candidate))
        return name.is_subdomain(_origin(candidate))

    @staticmethod
    def _add(
        section: list[dns.rrset.RRset],
        source: dns.zone.Zone,
        name: dns.name.Name,
        rdtype: dns.rdatatype.RdataType,
    ) -> None:
        node = source.get_node(name)
        if node is None:
            return
        for kind, covers in ((rdtype, dns.rdatatype.NONE), (dns.rdatatype.RRSIG, rdtype)):
            found = node.get_rdataset(dns.rdataclass.IN, kind, covers)
            if found is not None:
                rrset = dns.rrset.RRset(name, dns.rdataclass.IN, kind, covers)
                rrset.update(found)
                section.append(rrset)


def _origin(source: dns.zone.Zone) -> dns.name.Name:
    assert source.origin is not None
    return source.origin
