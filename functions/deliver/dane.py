"""DANE for SMTP (RFC 7672): the TLSA records of an MX host, and whether a server's certificate
chain matches them.

DANE applies to a host only when its name comes from a secure MX answer (or is the domain itself,
with no MX, securely denied) and its address records are secure (RFC 7672 2.2). A host whose TLSA
look-up is bogus or fails is not used (2.1.1); one with secure, usable records must offer
STARTTLS and show a matching certificate. Usable: DANE-TA(2) and DANE-EE(3), selector full
certificate (0) or public key (1), matching full (0), SHA-256 (1) or SHA-512 (2).
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from dns.rdtypes.ANY.TLSA import TLSA

from functions.deliver.dnssec import Bogus, Validator
from mailgate.dns import DnsUnavailable

DANE_TA, DANE_EE = 2, 3


@dataclass(frozen=True)
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    def __str__(self) -> str:
        return f"{self.usage} {self.selector} {self.mtype}"

    @property
    def usable(self) -> bool:
        return (
            self.usage in (DANE_TA, DANE_EE) and self.selector in (0, 1) and self.mtype in (0, 1, 2)
        )


@dataclass(frozen=True)
class HostDane:
    """``records``: the host's usable TLSA records (DANE applies when there are some);
    ``failure``: why the host must not be used at all."""

    records: tuple[Tlsa, ...] = ()
    failure: str = ""


NO_DANE = HostDane()


def _selected(certificate: x509.Certificate, selector: int) -> bytes:
    if selector == 0:
        return certificate.public_bytes(Encoding.DER)
    return certificate.public_key().public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)


def _digest(data: bytes, mtype: int) -> bytes:
    if mtype == 1:
        return hashlib.sha256(data).digest()
    if mtype == 2:
        return hashlib.sha512(data).digest()
    return data


def _matches(record: Tlsa, certificate: x509.Certificate) -> bool:
    return _digest(_selected(certificate, record.selector), record.mtype) == record.data


def authenticate(records: tuple[Tlsa, ...], chain: list[bytes], host: str) -> Tlsa | None:
    """The record that authenticates the server's ``chain`` (DER, its own certificate first)
    for ``host``, or None. DANE-EE needs the server's own certificate to match (names and dates
    are not checked, RFC 7672 3.1.1); DANE-TA a certificate of the chain that the server's
    certificate chains to, valid now and for ``host`` (3.1.2, 3.2.2)."""
    try:
        certificates = [x509.load_der_x509_certificate(der) for der in chain]
    except ValueError:
        return None
    if not certificates:
        return None
    leaf = certificates[0]
    for record in records:
        if record.usage == DANE_EE and _matches(record, leaf):
            return record
    for record in records:
        if record.usage != DANE_TA:
            continue
        for anchor in certificates[1:]:
            if _matches(record, anchor) and _chains(leaf, certificates[1:], anchor, host):
                return record
    return None


def _chains(
    leaf: x509.Certificate, others: list[x509.Certificate], anchor: x509.Certificate, host: str
) -> bool:
    verifier = (
        PolicyBuilder()
        .store(Store([anchor]))
        .time(datetime.datetime.now(datetime.UTC))
        .build_server_verifier(x509.DNSName(host))
    )
    try:
        verifier.verify(leaf, others)
    except (VerificationError, ValueError):
        return False
    return True


class DaneLookup:
    def __init__(self, validator: Validator) -> None:
        self._validator = validator

    def hosts(self, domain: str, hosts: list[str], port: int) -> dict[str, HostDane]:
        """Each host's DANE state. Raises ``Bogus`` when the MX answer itself is (nothing can
        be trusted about the destination then), ``DnsUnavailable`` when it cannot be had."""
        mx = self._validator.lookup(domain, "MX")
        if not mx.secure:
            return dict.fromkeys(hosts, NO_DANE)
        return {host: self._host(host, port) for host in hosts}

    def _host(self, host: str, port: int) -> HostDane:
        try:
            if not self._validator.lookup(host, "A").secure:
                return NO_DANE
            answer = self._validator.lookup(f"_{port}._tcp.{host}", "TLSA")
        except Bogus as error:
            return HostDane(failure=f"TLSA records of {host} failed DNSSEC validation: {error}")
        except DnsUnavailable as error:
            return HostDane(failure=f"TLSA records of {host} could not be looked up: {error}")
        if not answer.secure or answer.rrset is None:
            return NO_DANE
        usable = tuple(
            Tlsa(r.usage, r.selector, r.mtype, r.cert) for r in answer.rrset if isinstance(r, TLSA)
        )
        # RFC 7672 2.2: records none of which is usable leave the session opportunistic.
        return HostDane(records=tuple(record for record in usable if record.usable))
