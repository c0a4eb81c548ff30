"""How a destination's sessions must be secured: opportunistic STARTTLS unless the tenant's
outbound TLS peers require TLS (and a minimum version) for the recipient's domain."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from functools import cache

from functions.deliver.authentication import Authentication
from mailgate.tenant_config import OutboundTlsPeer, TlsVersion

_SSL_VERSIONS: dict[TlsVersion, ssl.TLSVersion] = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class TlsPolicy:
    """``required``: never deliver in plain text; ``reason`` names the rule for the reply."""

    required: bool = False
    min_version: TlsVersion | None = None
    reason: str = ""
    # DANE and MTA-STS of an MX destination, when looked up.
    authentication: Authentication | None = None

    def context(self) -> ssl.SSLContext:
        return _unverified(self.min_version)


OPPORTUNISTIC = TlsPolicy()


@cache
def _unverified(min_version: TlsVersion | None) -> ssl.SSLContext:
    # Encryption without authenticating the peer (RFC 3207 opportunistic TLS; RFC 7435):
    # requiring TLS refuses plain text, it does not make an unknown certificate acceptable. No
    # CA store is loaded (nothing is verified), and one context serves every session: making
    # one per session cost more CPU than the rest of the delivery (bench/deliver.py).
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if min_version is not None:
        context.minimum_version = _SSL_VERSIONS[min_version]
    return context


def for_domain(peers: list[OutboundTlsPeer], domain: str) -> TlsPolicy:
    """The most specific peer entry that is ``domain`` or one of its parents decides."""
    domain = domain.lower().rstrip(".")
    matches = [p for p in peers if domain == p.domain or domain.endswith("." + p.domain)]
    if not matches:
        return OPPORTUNISTIC
    peer = max(matches, key=lambda p: len(p.domain))
    return TlsPolicy(
        required=True,
        min_version=peer.min_version,
        reason=f"outbound TLS peer {peer.domain} ({peer.min_version} or later)",
    )
