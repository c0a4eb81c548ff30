"""A tenant's configuration: domains, sender filter, IP reputation, TLS peers (inbound and
outbound), reverse DNS, size and rate limits (stage 1), the policy rules and domain-based
authentication (stage 2). Validated as a whole; invalid input is refused with a sentence."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from mailgate.config_fields import (
    AddressPattern,
    Country,
    DomainName,
    MailServer,
    Network,
    valid_domain,
    valid_network,
)
from mailgate.domain_auth import DomainAuth
from mailgate.policy.rules import Address, Policies

TlsVersion = Literal["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
TLS_ORDER: tuple[TlsVersion, ...] = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
ReputationList = Literal["qil", "kssl", "dul", "etl"]

MAX_LIST = 10_000
MAX_MESSAGE_BYTES = 150 * 1024 * 1024  # the most a tenant may allow


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Domain(BaseModel):
    """A managed domain's routing entry: its tenant and where its inbound mail goes."""

    name: str
    tenant_id: str
    inbound_servers: list[MailServer]
    outbound: bool = True


class Outbound(_Strict):
    enabled: bool = False
    sending_servers: list[Network] = Field(default_factory=list, max_length=1000)


class DomainConfig(_Strict):
    name: DomainName
    inbound_servers: list[MailServer] = Field(min_length=1, max_length=10)
    # Addresses or patterns of valid recipients; empty accepts every recipient of the domain.
    valid_recipients: list[AddressPattern] = Field(default_factory=list, max_length=MAX_LIST)
    outbound: Outbound = Field(default_factory=Outbound)


class SenderFilter(_Strict):
    blocked_senders: list[AddressPattern] = Field(default_factory=list, max_length=MAX_LIST)
    approved_senders: list[AddressPattern] = Field(default_factory=list, max_length=MAX_LIST)


def _all_lists_on() -> dict[ReputationList, bool]:
    return {"qil": True, "kssl": True, "dul": True, "etl": True}


class IpReputation(_Strict):
    lists: dict[ReputationList, bool] = Field(default_factory=_all_lists_on)
    approved_ips: list[Network] = Field(default_factory=list, max_length=MAX_LIST)
    blocked_ips: list[Network] = Field(default_factory=list, max_length=MAX_LIST)
    blocked_countries: list[Country] = Field(default_factory=list, max_length=300)
    bypass_spam_for_approved_ips: bool = False


class TlsPeer(_Strict):
    """A peer that must use TLS: a domain (matched against the client's verified reverse DNS
    name and its HELO name, subdomains included) or an IP/CIDR block."""

    peer: str
    min_version: TlsVersion | None = None

    @field_validator("peer")
    @classmethod
    def _peer(cls, value: str) -> str:
        try:
            return valid_network(value)
        except ValueError:
            pass
        try:
            return valid_domain(value)
        except ValueError as error:
            raise ValueError(f"'{value}' is neither a domain nor an IP/CIDR block") from error


class OutboundTlsPeer(_Strict):
    """A destination domain (subdomains included) whose mail the gateway delivers over TLS only,
    at least ``min_version``: never in plain text."""

    domain: DomainName
    min_version: TlsVersion = "TLSv1.2"


class ReverseDns(_Strict):
    enabled: bool = False
    # Also require the PTR name to resolve back to the client's address (FCrDNS).
    forward_confirmed: bool = False


class RateLimit(_Strict):
    limit: int = Field(ge=1, le=10_000_000_000)
    window_s: int = Field(ge=60, le=86_400)


class RateLimits(_Strict):
    """i-1…i-5 (inbound) or o-1…o-5 (outbound); an absent limit is not enforced."""

    count_ip: RateLimit | None = None
    count_address: RateLimit | None = None
    size_ip: RateLimit | None = None
    size_address: RateLimit | None = None
    size_domain: RateLimit | None = None


class Limits(_Strict):
    max_message_bytes: int = Field(50 * 1024 * 1024, ge=1024, le=MAX_MESSAGE_BYTES)
    inbound: RateLimits = Field(default_factory=RateLimits)
    outbound: RateLimits = Field(default_factory=RateLimits)


def _blocked_url(value: str) -> str:
    """A domain (``evil.example``: it and its subdomains) or the start of a web address
    (``https://host/path``: every URL that begins so, whatever its scheme)."""
    text = value.strip()
    if "://" not in text:
        return valid_domain(text)
    try:
        parts = urlsplit(text)
        host, _port = parts.hostname or "", parts.port  # the port raises when it is no number
    except ValueError as error:
        raise ValueError(f"'{value}' is not a web address") from error
    if parts.scheme.lower() not in ("http", "https") or len(text) > 2000:
        raise ValueError(f"'{value}' is not an http or https address")
    try:
        valid_network(host)
    except ValueError:
        valid_domain(host)
    return text


BlockedUrl = Annotated[str, AfterValidator(_blocked_url)]


class Executive(_Strict):
    """A person whose name impostors borrow, and the addresses that person really writes from."""

    name: str = Field(min_length=3, max_length=100)
    addresses: list[Address] = Field(min_length=1, max_length=20)

    @field_validator("name")
    @classmethod
    def _a_name(cls, value: str) -> str:
        name = " ".join(value.split())
        if len(name) < 3:
            raise ValueError(f"'{value}' is too short to recognise as a name")
        return name


class ThreatProtection(_Strict):
    """Stage 2's phishing, web reputation and BEC settings (docs/detection.md)."""

    # Links to these domains or addresses are web_reputation detections.
    blocked_urls: list[BlockedUrl] = Field(default_factory=list, max_length=MAX_LIST)
    # Display names that outside senders must not wear.
    executives: list[Executive] = Field(default_factory=list, max_length=500)


class TenantConfig(_Strict):
    # One configuration write is one DynamoDB transaction (at most 100 items).
    domains: list[DomainConfig] = Field(default_factory=list, max_length=90)
    sender_filter: SenderFilter = Field(default_factory=SenderFilter)
    ip_reputation: IpReputation = Field(default_factory=IpReputation)
    tls_peers: list[TlsPeer] = Field(default_factory=list, max_length=1000)
    outbound_tls_peers: list[OutboundTlsPeer] = Field(default_factory=list, max_length=1000)
    reverse_dns: ReverseDns = Field(default_factory=ReverseDns)
    limits: Limits = Field(default_factory=Limits)
    policies: Policies = Field(default_factory=Policies)
    threat_protection: ThreatProtection = Field(default_factory=ThreatProtection)
    domain_auth: DomainAuth = Field(default_factory=DomainAuth)

    @model_validator(mode="after")
    def _unique_domains(self) -> TenantConfig:
        names = [domain.name for domain in self.domains]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"domains: {duplicates[0]} is listed more than once")
        peers = [peer.domain for peer in self.outbound_tls_peers]
        repeated = sorted({name for name in peers if peers.count(name) > 1})
        if repeated:
            raise ValueError(f"outbound_tls_peers: {repeated[0]} is listed more than once")
        return self

    def domain(self, name: str) -> DomainConfig | None:
        name = name.lower()
        return next((domain for domain in self.domains if domain.name == name), None)


def tls_at_least(version: str, minimum: TlsVersion) -> bool:
    return version in TLS_ORDER and TLS_ORDER.index(version) >= TLS_ORDER.index(minimum)  # type: ignore[arg-type]
