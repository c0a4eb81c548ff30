"""MTA-STS (RFC 8461): a recipient domain's policy, announced by ``_mta-sts.<domain>`` TXT and
fetched over HTTPS from ``mta-sts.<domain>``; the MX hosts it allows; a server certificate that
is valid for the MX host name.

A policy is cached for its ``max_age``, keyed by the TXT record's ``id``: the same id reuses it,
a new id fetches again, and while the TXT record is missing or the fetch fails an unexpired
cached policy still applies (RFC 8461 5.1). A fetch is bounded in time and to 64 KiB.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import dns.resolver
from cryptography import x509
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError

from mailgate import dns as mdns

MAX_POLICY = 64 * 1024
MAX_AGE = 31_557_600  # RFC 8461 3.2: at most a year
MODES = ("enforce", "testing", "none")


class PolicyError(Exception):
    """No usable policy: the TXT record or the policy file is invalid, or the fetch failed."""


@dataclass(frozen=True)
class Policy:
    id: str
    mode: str
    max_age: int
    mx: tuple[str, ...]

    def allows(self, host: str) -> bool:
        return any(mx_matches(pattern, host) for pattern in self.mx)


def mx_matches(pattern: str, host: str) -> bool:
    """RFC 8461 4.1: an exact name, or ``*.`` standing for exactly one leftmost label."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return host == pattern


def txt_id(records: list[bytes]) -> str | None:
    """The policy id of the one ``v=STSv1`` record, None when there is none or several."""
    found = [r for r in records if r.startswith(b"v=STSv1;") or r == b"v=STSv1"]
    if len(found) != 1:
        return None
    fields = dict(
        part.strip().partition("=")[::2]
        for part in found[0].decode("ascii", "replace").split(";")
        if part.strip()
    )
    policy_id = fields.get("id", "")
    if not (1 <= len(policy_id) <= 32 and policy_id.isascii() and policy_id.isalnum()):
        return None
    return policy_id


def parse(text: str, policy_id: str) -> Policy:
    """The policy file (RFC 8461 3.2): ``key: value`` lines; raises ``PolicyError``."""
    fields: dict[str, list[str]] = {}
    for line in text.splitlines():
        key, colon, value = line.partition(":")
        if colon:
            fields.setdefault(key.strip(), []).append(value.strip())
    if fields.get("version") != ["STSv1"]:
        raise PolicyError("the policy is not version STSv1")
    mode = (fields.get("mode") or [""])[0]
    if mode not in MODES:
        raise PolicyError(f"the policy mode {mode[:20]!r} is not one of {', '.join(MODES)}")
    age = (fields.get("max_age") or [""])[0]
    if not (age.isascii() and age.isdigit() and len(age) <= 10 and int(age) <= MAX_AGE):
        raise PolicyError(f"the policy max_age {age[:20]!r} is not 0 to {MAX_AGE}")
    mx = tuple(fields.get("mx", []))
    if mode != "none" and not mx:
        raise PolicyError("the policy names no mx")
    return Policy(policy_id, mode, int(age), mx)


@dataclass(frozen=True)
class Found:
    """The policy that applies (None: none does) and what happened finding it."""

    policy: Policy | None
    note: str


class PolicySource:
    def __init__(
        self,
        res: dns.resolver.Resolver,
        *,
        port: int,
        ca_bundle: str,
        timeout: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._res = res
        self._port = port
        self._ca_bundle = ca_bundle
        self._timeout = timeout
        self._clock = clock
        self._cache: dict[str, tuple[float, Policy]] = {}

    def find(self, domain: str) -> Found:
        domain = domain.lower().rstrip(".")
        cached = self._cache.get(domain)
        if cached and cached[0] <= self._clock():
            del self._cache[domain]
            cached = None
        try:
            policy_id = txt_id(mdns.txt_records(f"_mta-sts.{domain}", self._res))
        except mdns.DnsUnavailable as error:
            policy_id, why = None, str(error)
        else:
            why = f"_mta-sts.{domain} has no valid STSv1 record"
        if policy_id is None:
            return Found(cached[1], "cached policy") if cached else Found(None, why)
        if cached and cached[1].id == policy_id:
            return Found(cached[1], "cached policy")
        try:
            policy = parse(self.fetch(domain), policy_id)
        except PolicyError as error:
            if cached:
                return Found(cached[1], f"cached policy (fetching the new one failed: {error})")
            return Found(None, str(error))
        self._cache[domain] = (self._clock() + policy.max_age, policy)
        return Found(policy, "fetched policy")

    @cached_property
    def context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self._ca_bundle or None)

    @cached_property
    def store(self) -> Store:
        bundle = self._ca_bundle or ssl.get_default_verify_paths().openssl_cafile
        return Store(x509.load_pem_x509_certificates(Path(bundle).read_bytes()))

    def fetch(self, domain: str) -> str:
        """The policy file at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``: a 200
        answer, no redirect followed, over a certificate valid for that name."""
        host = f"mta-sts.{domain}"
        try:
            addresses = mdns.addresses(host, self._res)
        except mdns.DnsUnavailable as error:
            raise PolicyError(str(error)) from error
        if not addresses:
            raise PolicyError(f"{host} has no address")
        connection = http.client.HTTPSConnection(host, self._port, timeout=self._timeout)
        try:
            raw = socket.create_connection((addresses[0], self._port), timeout=self._timeout)
            connection.sock = self.context.wrap_socket(raw, server_hostname=host)
            connection.request("GET", "/.well-known/mta-sts.txt", headers={"Host": host})
            response = connection.getresponse()
            body = response.read(MAX_POLICY + 1)
        except (OSError, http.client.HTTPException) as error:
            raise PolicyError(f"fetching the policy from {host} failed: {error}") from error
        finally:
            connection.close()
        if response.status != 200:
            raise PolicyError(f"{host} answered HTTP {response.status} for the policy")
        if len(body) > MAX_POLICY:
            raise PolicyError(f"the policy of {host} is larger than {MAX_POLICY} bytes")
        return body.decode("utf-8", "replace")

    def valid_for(self, chain: list[bytes], host: str) -> bool:
        """Whether the chain (DER, the server's certificate first) is valid now for ``host``
        and issued under a CA of the bundle (RFC 8461 4.2)."""
        try:
            leaf, *others = [x509.load_der_x509_certificate(der) for der in chain]
            verifier = PolicyBuilder().store(self.store).build_server_verifier(x509.DNSName(host))
            verifier.verify(leaf, others)
        except (VerificationError, ValueError):
            return False
        return True
