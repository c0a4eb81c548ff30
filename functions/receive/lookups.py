"""What stage-1 checks ask of DNS and the IP-to-country data, memoized per SMTP session.

A DNS timeout or SERVFAIL raises ``mailgate.dns.DnsUnavailable``: the front answers a temporary
4xx, never a permanent reject. DNSBL look-ups are the exception: a list that does not answer
has no opinion (the message is not refused because a list is down).
"""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable
from typing import Any

import dns.exception
import dns.name
import dns.resolver
import dns.reversename

from mailgate.config_fields import DOMAIN_RE
from mailgate.dns import DnsUnavailable, DomainStatus

log = logging.getLogger(__name__)
_TEMPORARY = (dns.exception.Timeout, dns.resolver.NoNameservers)


class Lookups:
    def __init__(self, resolver: dns.resolver.Resolver, country: Callable[[str], str | None]):
        self._resolver = resolver
        self._country = country
        self._memo: dict[tuple[str, str], Any] = {}

    def _remember(self, kind: str, key: str, compute: Callable[[], Any]) -> Any:
        if (kind, key) not in self._memo:
            self._memo[kind, key] = compute()
        return self._memo[kind, key]

    def _resolve(self, name: str, rdtype: str) -> list[str]:
        """Records as text; [] when the name or the type does not exist."""
        try:
            return [record.to_text() for record in self._resolver.resolve(name, rdtype)]
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except _TEMPORARY as error:
            raise DnsUnavailable(f"DNS lookup of {name} failed") from error
        except (dns.name.NameTooLong, dns.name.EmptyLabel, dns.name.LabelTooLong) as error:
            raise ValueError(name) from error

    def listed(self, ip: str, zone: str) -> bool:
        """RFC 5782: the address is listed when its reversed form under the zone has an A
        record in 127.0.0.0/8."""

        def compute() -> bool:
            query = dns.reversename.from_address(ip).to_text(omit_final_dot=True)
            query = query.removesuffix(".in-addr.arpa").removesuffix(".ip6.arpa")
            try:
                answers = self._resolve(f"{query}.{zone}", "A")
            except DnsUnavailable:
                log.warning("reputation list %s did not answer for %s", zone, ip)
                return False
            return any(
                ipaddress.ip_address(a) in ipaddress.ip_network("127.0.0.0/8") for a in answers
            )

        return bool(self._remember(f"dnsbl:{zone}", ip, compute))

    def ptr_names(self, ip: str) -> list[str]:
        def compute() -> list[str]:
            name = dns.reversename.from_address(ip).to_text()
            return [n.rstrip(".").lower() for n in self._resolve(name, "PTR")]

        names: list[str] = self._remember("ptr", ip, compute)
        return names

    def addresses(self, name: str) -> list[str]:
        def compute() -> list[str]:
            return self._resolve(name, "A") + self._resolve(name, "AAAA")

        found: list[str] = self._remember("addr", name, compute)
        return found

    def verified_ptr_names(self, ip: str) -> list[str]:
        """PTR names that resolve back to ``ip`` (forward-confirmed reverse DNS)."""
        return [name for name in self.ptr_names(ip) if ip in self.addresses(name)]

    def domain_status(self, domain: str) -> DomainStatus:
        def compute() -> DomainStatus:
            if not DOMAIN_RE.match(domain):
                return DomainStatus.MALFORMED
            mx = self._resolve(domain, "MX")
            if not mx:
                return DomainStatus.OK if self.addresses(domain) else DomainStatus.NOT_FOUND
            hosts = [record.split()[-1].rstrip(".").lower() for record in mx]
            if hosts == [""]:  # RFC 7505 null MX: the domain accepts no mail
                return DomainStatus.MALFORMED
            for host in hosts:
                if _is_ip_literal(host) or not host:
                    continue  # RFC 5321 5.1: an MX must name a host, not an address
                if self.addresses(host):
                    return DomainStatus.OK
            return DomainStatus.MALFORMED

        status: DomainStatus = self._remember("domain", domain.lower(), compute)
        return status

    def country(self, ip: str) -> str | None:
        found: str | None = self._remember("country", ip, lambda: self._country(ip))
        return found


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True
