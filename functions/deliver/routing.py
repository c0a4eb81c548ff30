"""Where a recipient's mail goes: the servers of its destination, in the order to try them.

Inbound mail goes to the managed domain's inbound servers in the order configured; outbound
mail to the MX hosts of the recipient's domain (RFC 5321 5.1), each with its IPv4 then IPv6
addresses. Outbound mail to a domain of the same tenant goes straight to that domain's inbound
servers (its MX would bring it back to the gateway).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

import dns.resolver

from mailgate import dns as mdns
from mailgate.catalog import Direction
from mailgate.ports import Domains
from mailgate.tenant_config import MailServer


@dataclass(frozen=True)
class Server:
    """One address to try: ``name`` is the MX host (or the configured host), ``address`` what
    is connected to (an IP, or the configured host name when it is not an IP)."""

    name: str
    address: str
    port: int


@dataclass(frozen=True)
class Destination:
    """A recipient domain and the servers its mail is tried on, in order."""

    domain: str
    servers: tuple[Server, ...]
    mx: bool = False  # the recipient domain's MX hosts (DANE and MTA-STS apply)


MxLookup = Callable[[str], list[Server]]


def mx_servers(
    domain: str, res: dns.resolver.Resolver, port: int, rng: random.Random | None = None
) -> list[Server]:
    """The addresses of the domain's MX hosts in the order to try them. A host that does not
    resolve now is skipped while another one does (RFC 5321 5.1); raises ``DomainNotFound``
    (bounce) or ``DnsUnavailable`` (retry)."""
    servers: list[Server] = []
    unavailable: mdns.DnsUnavailable | None = None
    for host in mdns.mx_hosts(domain, res, rng or random.Random()):
        try:
            servers.extend(Server(host, address, port) for address in mdns.addresses(host, res))
        except mdns.DnsUnavailable as error:
            unavailable = error
    if not servers:
        if unavailable is not None:
            raise unavailable
        raise mdns.DomainNotFound(f"{domain} has no mail server with an address")
    return servers


def configured(servers: list[MailServer]) -> list[Server]:
    return [Server(server.host, server.host, server.port) for server in servers]


def destination(
    tenant_id: str, direction: Direction, domain: str, domains: Domains, lookup_mx: MxLookup
) -> Destination:
    """Raises ``DomainNotFound`` or ``DnsUnavailable`` when there is nowhere to go."""
    managed = domains.domain(domain)
    own = managed is not None and managed.tenant_id == tenant_id
    if direction is Direction.OUTBOUND and not own:
        return Destination(domain, tuple(lookup_mx(domain)), mx=True)
    if managed is None or not own or not managed.inbound_servers:
        raise mdns.DomainNotFound(f"{domain} has no inbound server configured")
    return Destination(domain, tuple(configured(managed.inbound_servers)))
