"""Which TLS a destination domain gets from the tenant's outbound TLS peers."""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError

from functions.deliver.tls_policy import OPPORTUNISTIC, for_domain
from mailgate.tenant_config import OutboundTlsPeer, TenantConfig

PEERS = [
    OutboundTlsPeer(domain="example.com"),
    OutboundTlsPeer(domain="secure.example.com", min_version="TLSv1.3"),
]


@pytest.mark.parametrize(
    ("domain", "required", "minimum"),
    [
        ("example.com", True, "TLSv1.2"),
        ("EXAMPLE.com.", True, "TLSv1.2"),
        ("mail.example.com", True, "TLSv1.2"),
        ("secure.example.com", True, "TLSv1.3"),
        ("a.secure.example.com", True, "TLSv1.3"),
        ("notexample.com", False, None),
        ("example.com.evil.test", False, None),
    ],
)
def test_the_most_specific_peer_of_the_domain_decides(
    domain: str, required: bool, minimum: str | None
) -> None:
    policy = for_domain(PEERS, domain)

    assert (policy.required, policy.min_version) == (required, minimum)


def test_without_a_peer_tls_is_opportunistic_and_unverified() -> None:
    policy = for_domain([], "example.com")

    assert policy == OPPORTUNISTIC
    context = policy.context()
    assert context.verify_mode is ssl.CERT_NONE


def test_the_minimum_version_is_enforced_by_the_handshake() -> None:
    context = for_domain(PEERS, "secure.example.com").context()

    assert context.minimum_version is ssl.TLSVersion.TLSv1_3


def test_the_reason_names_the_peer_for_the_reply() -> None:
    assert (
        for_domain(PEERS, "x.example.com").reason
        == "outbound TLS peer example.com (TLSv1.2 or later)"
    )


@pytest.mark.parametrize(
    "peers",
    [
        [{"domain": "not a domain"}],
        [{"domain": "example.com", "min_version": "SSLv3"}],
        [{"domain": "example.com", "required": False}],
        [{"domain": "example.com"}, {"domain": "Example.COM"}],
    ],
)
def test_invalid_outbound_tls_peers_are_refused(peers: list[dict[str, str]]) -> None:
    with pytest.raises(ValidationError):
        TenantConfig.model_validate({"outbound_tls_peers": peers})
