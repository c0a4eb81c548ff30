"""DNS look-ups through dnspython, against the configured resolvers (system ones if none)."""

from __future__ import annotations

import enum
import random

import dns.exception
import dns.name
import dns.resolver

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


def split_server(server: str) -> tuple[str, int | None]:
    """A resolver of ``MAILGATE_DNS_SERVERS``, "ip" or "ip:port" (an IPv6 address has no
    port), as its address and port (None: the default)."""
    host, _, port = server.rpartition(":") if server.count(":") == 1 else (server, "", "")
    return host, int(port) if port else None


def resolver(servers: list[str], timeout: float = 5.0) -> dns.resolver.Resolver:
    """``servers`` are "ip" or "ip:port" strings (one port for all)."""
    if not servers:
        result = dns.resolver.Resolver()
    else:
        result = dns.resolver.Resolver(configure=False)
        hosts, ports = [], set()
        for server in servers:
            host, port = split_server(server)
            hosts.append(host)
            if port:
                ports.add(port)
        result.nameservers = hosts
        if ports:
            result.port = ports.pop()
    result.lifetime = timeout
    return result


def mx_hosts(domain: str, res: dns.resolver.Resolver, rng: random.Random) -> list[str]:
    """RFC 5321 5.1: the MX hosts by preference, those of equal preference in random order,
    or the domain itself when it has no MX (implicit MX)."""
    try:
        answer = res.resolve(domain, "MX")
    except dns.resolver.NoAnswer:
        return [domain.lower().rstrip(".")]
    except dns.resolver.NXDOMAIN as error:
        raise DomainNotFound(f"{domain} does not exist") from error
    except _TEMPORARY as error:
        raise DnsUnavailable(f"DNS lookup of {domain} failed: {error}") from error
    records = [(r.preference, r.exchange.to_text(omit_final_dot=True)) for r in answer]
    if any(host in ("", ".") for _, host in records):
        raise DomainNotFound(f"{domain} accepts no mail (null MX, RFC 7505)")
    rng.shuffle(records)
    return [host for _, host in sorted(records, key=lambda record: record[0])]


def addresses(host: str, res: dns.resolver.Resolver) -> list[str]:
    """The IPv4 then IPv6 addresses of ``host``; none when it has neither."""
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            addresses.extend(record.to_text() for record in res.resolve(host, rdtype))
        except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
            continue
        except _TEMPORARY as error:
            raise DnsUnavailable(f"DNS lookup of {host} failed: {error}") from error
    return addresses


def a_records(name: str, res: dns.resolver.Resolver) -> list[str]:
    """The IPv4 addresses ``name`` has; none when it does not exist or cannot be a name."""
    try:
        return [record.to_text() for record in res.resolve(name, "A")]
    except (dns.resolver.NoAnswer, dns.resolver.NXDOMAIN):
        return []
    except (dns.name.NameTooLong, dns.name.EmptyLabel, dns.name.LabelTooLong):
        return []
    except _TEMPORARY as error:
        raise DnsUnavailable(f"DNS lookup of {name} failed: {error}") from error


def txt_records(name: str, res: dns.resolver.Resolver) -> list[bytes]:
    """Each TXT record of ``name``, its strings joined; none when the name has none (or is not
    a valid DNS name)."""
    try:
        answer = res.resolve(name, "TXT")
    except (
        dns.resolver.NoAnswer,
        dns.resolver.NXDOMAIN,
        dns.name.NameTooLong,
        dns.name.EmptyLabel,
    ):
        return []
    except dns.exception.DNSException as error:
        raise DnsUnavailable(f"DNS lookup of {name} failed: {error}") from error
    return [b"".join(record.strings) for record in answer]
