"""DNS look-ups through dnspython, against the configured resolvers (system ones if none)."""

from __future__ import annotations

import enum

import dns.exception
import dns.resolver

from mailgate.tenant_config import MailServer

_TEMPORARY = (dns.exception.Timeout, dns.resolver.NoNameservers)


class DomainNotFound(Exception):
    """The domain has no usable mail server: a permanent failure."""


class DnsUnavailable(Exception):
    """The answer could not be had now (timeout, SERVFAIL): a temporary failure."""


class DomainStatus(enum.Enum):
    """Whether a domain can receive mail, as stage 1 judges a sender's or recipient's domain."""

    OK = "ok"
    NOT_FOUND = "not_found"  # no MX and no A/AAAA (or the name does not exist)
    MALFORMED = "malformed"  # records exist but no mail can go there, or the name is invalid


def resolver(servers: list[str], timeout: float = 5.0) -> dns.resolver.Resolver:
    """``servers`` are "ip" or "ip:port" strings (one port for all)."""
    if not servers:
        result = dns.resolver.Resolver()
    else:
        result = dns.resolver.Resolver(configure=False)
        hosts, ports = [], set()
        for server in servers:
            host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
            hosts.append(host)
            if port:
                ports.add(int(port))
        result.nameservers = hosts
        if ports:
            result.port = ports.pop()
    result.lifetime = timeout
    return result


def mail_servers(domain: str, res: dns.resolver.Resolver, port: int) -> list[MailServer]:
    """RFC 5321 5.1: the addresses of the MX hosts by preference, or of the domain itself
    when it has no MX. Addresses are resolved here so the configured resolvers decide."""
    try:
        answer = res.resolve(domain, "MX")
        records = sorted(answer, key=lambda record: record.preference)
        hosts = [record.exchange.to_text(omit_final_dot=True) for record in records]
    except dns.resolver.NoAnswer:
        hosts = [domain]
    except dns.resolver.NXDOMAIN as error:
        raise DomainNotFound(f"{domain} does not exist") from error
    except _TEMPORARY as error:
        raise DnsUnavailable(f"DNS lookup of {domain} failed: {error}") from error
    if hosts in ([""], ["."]):
        raise DomainNotFound(f"{domain} accepts no mail (null MX, RFC 7505)")
    servers: list[MailServer] = []
    unavailable: DnsUnavailable | None = None
    for host in hosts:
        try:
            servers.extend(MailServer(host=address, port=port) for address in _addresses(host, res))
        except DnsUnavailable as error:  # try the hosts that did resolve (RFC 5321 5.1)
            unavailable = error
    if not servers:
        if unavailable is not None:
            raise unavailable
        raise DomainNotFound(f"{domain} has no mail server with an address")
    return servers


def _addresses(host: str, res: dns.resolver.Resolver) -> list[str]:
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            addresses.extend(record.to_text() for record in res.resolve(host, rdtype))
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except _TEMPORARY as error:
            raise DnsUnavailable(f"DNS lookup of {host} failed: {error}") from error
    return addresses
