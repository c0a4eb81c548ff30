"""DNSSEC validation of look-ups, from a configured trust anchor down (RFC 4033-4035, 5155).

An answer is *secure* when every record set in it is signed by a zone whose keys chain to the
anchor (DS → DNSKEY, zone by zone), *insecure* when a validated denial shows that a delegation
above it has no DS (an unsigned zone), and *bogus* otherwise: a missing or wrong signature where
one must be, or a denial that proves nothing. Names outside the anchor's tree are insecure.

Denials are checked for the queried name itself (an NSEC or NSEC3 naming it without the type,
or covering it: no such name; an NSEC3 opt-out span covering an unsigned delegation); wildcard
answers are not expanded, so a wildcard-synthesised answer is bogus.
"""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

import dns.dnssec
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rdataclass
import dns.rdatatype
import dns.resolver
import dns.rrset
from dns.rdtypes.ANY.DNSKEY import DNSKEY
from dns.rdtypes.ANY.DS import DS
from dns.rdtypes.ANY.NSEC import NSEC
from dns.rdtypes.ANY.NSEC3 import NSEC3

from mailgate.dns import DnsUnavailable
from mailgate.ttl_cache import TtlCache

_OPT_OUT = 0x01


class Bogus(Exception):
    """The answer's DNSSEC validation failed: it must not be trusted, nor taken as unsigned."""


@dataclass(frozen=True)
class Answer:
    """``rrset`` is None when the name has no such records. ``types`` are, for a denied
    answer, the types the proof says the name has (``{NS}`` for an opt-out span)."""

    rrset: dns.rrset.RRset | None
    secure: bool
    types: frozenset[int] = frozenset()


@dataclass(frozen=True)
class TrustAnchor:
    zone: dns.name.Name
    ds: DS

    @classmethod
    def parse(cls, text: str) -> TrustAnchor:
        """``"<zone> <key tag> <algorithm> <digest type> <digest>"``, a DS record's fields."""
        zone, _, rdata = text.strip().partition(" ")
        record = dns.rdata.from_text(dns.rdataclass.IN, dns.rdatatype.DS, rdata)
        assert isinstance(record, DS)
        return cls(dns.name.from_text(zone), record)


class Validator:
    def __init__(self, res: dns.resolver.Resolver, anchor: TrustAnchor) -> None:
        self._res = res
        self._res.use_edns(0, dns.flags.DO, 1232)
        self._anchor = anchor
        # A zone's validated keys; None for a zone proven unsigned.
        self._keys: TtlCache[dns.rrset.RRset | None] = TtlCache(self._zone_keys)

    def lookup(self, name: str | dns.name.Name, rdtype: str) -> Answer:
        """Raises ``Bogus``, or ``DnsUnavailable`` when no answer could be had."""
        qname = dns.name.from_text(name) if isinstance(name, str) else name
        kind = dns.rdatatype.from_text(rdtype)
        if not qname.is_subdomain(self._anchor.zone):
            return Answer(self._plain(self._query(qname, kind), qname, kind), secure=False)
        response = self._query(qname, kind)
        # A DS set lives in the parent zone: its signature and denial are the parent's.
        zone_of = qname.parent() if kind == dns.rdatatype.DS and qname != dns.name.root else qname
        sets = [r for r in response.answer if r.rdtype != dns.rdatatype.RRSIG]
        if sets:
            return self._positive(response, sets, qname, kind, zone_of)
        return self._negative(response, qname, kind, zone_of)

    def _query(self, qname: dns.name.Name, kind: dns.rdatatype.RdataType) -> dns.message.Message:
        try:
            answer = self._res.resolve(qname, kind, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN as error:
            response = error.response(error.qnames()[0])
            assert isinstance(response, dns.message.Message)
            return response
        except dns.exception.DNSException as error:
            raise DnsUnavailable(f"DNS lookup of {qname} {kind!s} failed: {error}") from error
        return answer.response

    @staticmethod
    def _plain(
        response: dns.message.Message, qname: dns.name.Name, kind: dns.rdatatype.RdataType
    ) -> dns.rrset.RRset | None:
        return next((r for r in response.answer if r.rdtype == kind), None)

    def _positive(
        self,
        response: dns.message.Message,
        sets: list[dns.rrset.RRset],
        qname: dns.name.Name,
        kind: dns.rdatatype.RdataType,
        zone_of: dns.name.Name,
    ) -> Answer:
        secure = True
        for rrset in sets:
            signatures = _signatures(response.answer, rrset)
            if signatures is None:
                if not self._insecure(zone_of):
                    raise Bogus(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)} is unsigned")
                secure = False
                continue
            if not self._verify(rrset, signatures):
                secure = False
        return Answer(self._plain(response, qname, kind), secure)

    def _negative(
        self,
        response: dns.message.Message,
        qname: dns.name.Name,
        kind: dns.rdatatype.RdataType,
        zone_of: dns.name.Name,
    ) -> Answer:
        proofs = [
            r for r in response.authority if r.rdtype in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3)
        ]
        if not proofs:
            if self._insecure(zone_of):
                return Answer(None, secure=False)
            raise Bogus(f"no proof that {qname} has no {dns.rdatatype.to_text(kind)} record")
        for proof in proofs:
            signatures = _signatures(response.authority, proof)
            if signatures is None or not self._verify(proof, signatures):
                return Answer(None, secure=False)
        types = _denied(proofs, qname, kind)
        if types is None:
            raise Bogus(f"the denial of {qname} {dns.rdatatype.to_text(kind)} proves nothing")
        return Answer(None, secure=True, types=types)

    def _verify(self, rrset: dns.rrset.RRset, signatures: dns.rrset.RRset) -> bool:
        """True when validated, False when the signer's zone is proven unsigned."""
        signer = signatures[0].signer
        if not rrset.name.is_subdomain(signer) or not signer.is_subdomain(self._anchor.zone):
            raise Bogus(f"{rrset.name} is signed by {signer}, not one of its zones")
        keys = self._keys.find(signer.to_text())
        if keys is None:
            return False
        try:
            dns.dnssec.validate(rrset, signatures, {signer: keys}, now=time.time())
        except dns.dnssec.ValidationFailure as error:
            raise Bogus(f"{rrset.name} {dns.rdatatype.to_text(rrset.rdtype)}: {error}") from error
        return True

    def _zone_keys(self, zone_text: str) -> dns.rrset.RRset | None:
        zone = dns.name.from_text(zone_text)
        if zone == self._anchor.zone:
            digests = [self._anchor.ds]
        else:
            ds = self.lookup(zone, "DS")
            if not ds.secure or ds.rrset is None:
                return None
            digests = [record for record in ds.rrset if isinstance(record, DS)]
        response = self._query(zone, dns.rdatatype.DNSKEY)
        keys = self._plain(response, zone, dns.rdatatype.DNSKEY)
        signatures = _signatures(response.answer, keys) if keys is not None else None
        if keys is None or signatures is None:
            raise Bogus(f"{zone} has a DS record but no signed DNSKEY set")
        trusted = [key for key in keys if isinstance(key, DNSKEY) and _matches(zone, key, digests)]
        if not trusted:
            raise Bogus(f"no DNSKEY of {zone} matches its DS record")
        anchors = dns.rrset.from_rdata(zone, keys.ttl, *trusted)
        try:
            dns.dnssec.validate(keys, signatures, {zone: anchors}, now=time.time())
        except dns.dnssec.ValidationFailure as error:
            raise Bogus(f"the DNSKEY set of {zone}: {error}") from error
        return keys

    def _insecure(self, zone_of: dns.name.Name) -> bool:
        """Whether a validated denial shows a delegation between the anchor and ``zone_of``
        without DS: below it, nothing needs to be signed."""
        labels = len(zone_of) - len(self._anchor.zone)
        for depth in range(1, labels + 1):
            name = zone_of.split(len(self._anchor.zone) + depth)[1]
            ds = self.lookup(name, "DS")
            if not ds.secure:
                return True
            if ds.rrset is None and dns.rdatatype.NS in ds.types:
                return True
        return False


def _signatures(section: list[dns.rrset.RRset], rrset: dns.rrset.RRset) -> dns.rrset.RRset | None:
    return next(
        (
            r
            for r in section
            if r.rdtype == dns.rdatatype.RRSIG and r.covers == rrset.rdtype and r.name == rrset.name
        ),
        None,
    )


def _matches(zone: dns.name.Name, key: DNSKEY, digests: list[DS]) -> bool:
    for ds in digests:
        try:
            if dns.dnssec.make_ds(zone, key, ds.digest_type) == ds:
                return True
        except dns.dnssec.UnsupportedAlgorithm:
            continue
    return False


def _denied(
    proofs: list[dns.rrset.RRset], qname: dns.name.Name, kind: dns.rdatatype.RdataType
) -> frozenset[int] | None:
    """The types the name has according to a proof that it has no ``kind`` record (none when
    the name does not exist), or None when the proofs do not say so."""
    for proof in proofs:
        for record in proof:
            if isinstance(record, NSEC):
                types = _types(record)
                if proof.name == qname and kind not in types:
                    return types
                if _between(proof.name, qname, record.next):
                    return frozenset()
            elif isinstance(record, NSEC3):
                zone = proof.name.parent()
                hashed = dns.name.from_text(
                    dns.dnssec.nsec3_hash(qname, record.salt, record.iterations, record.algorithm),
                    zone,
                )
                types = _types(record)
                if proof.name == hashed and kind not in types:
                    return types
                following = dns.name.from_text(_base32hex(record.next), zone)
                if _between(proof.name, hashed, following):
                    opt_out = record.flags & _OPT_OUT and kind == dns.rdatatype.DS
                    return frozenset({dns.rdatatype.NS}) if opt_out else frozenset()
    return None


def _types(record: NSEC | NSEC3) -> frozenset[int]:
    found: set[int] = set()
    for window, bitmap in record.windows:
        for index, byte in enumerate(bitmap):
            for bit in range(8):
                if byte & (0x80 >> bit):
                    found.add(window * 256 + index * 8 + bit)
    return frozenset(found)


def _between(owner: dns.name.Name, name: dns.name.Name, following: dns.name.Name) -> bool:
    """``name`` falls strictly inside the span from ``owner`` to ``following`` (the last span
    of a zone wraps around to its apex)."""
    if owner < following:
        return owner < name < following
    return name > owner or name < following


def _base32hex(raw: bytes) -> str:
    return base64.b32hexencode(raw).decode().rstrip("=").lower()
