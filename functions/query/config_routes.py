"""The tenant's configuration (scope ``config:write``): read it, replace it whole, or replace one
section. Each section has its own route so that the OpenAPI document shows its schema; the
body of a section route is the section's value itself (docs/config-api.md)."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.event_handler.router import APIGatewayRouter

from functions.query import wiring
from functions.query.config_service import ConfigService, Section
from mailgate.api.models import ConfigDocument, error_response
from mailgate.api.resolver import tenant_of
from mailgate.domain_auth import DomainAuth
from mailgate.policy.rules import Policies
from mailgate.tenant_config import (
    DomainConfig,
    IpReputation,
    Limits,
    OutboundTlsPeer,
    ReverseDns,
    SenderFilter,
    ThreatProtection,
    TlsPeer,
)

SCOPE = "config:write"
TAGS = ["config"]


# The answers, for the OpenAPI document (200 takes its schema from the return type).
_READ_RESPONSES: dict[int, Any] = {
    200: {"description": "The configuration and its version"},
    403: error_response("forbidden: the API key lacks the config:write scope"),
}
_WRITE_RESPONSES: dict[int, Any] = {
    200: {"description": "The configuration as written, and its new version"},
    400: error_response("invalid_request or invalid_config: the message names the field"),
    403: _READ_RESPONSES[403],
    409: error_response("version_conflict, or domain_taken: another tenant manages a domain"),
    413: error_response("config_too_large: the configuration would not fit in one item"),
}

router = APIGatewayRouter()


def _service() -> ConfigService:
    return wiring.services().config


def _update(section: Section, value: Any) -> ConfigDocument:
    return _service().update_section(tenant_of(router, SCOPE), section, value)


@router.get(
    "/v1/config",
    summary="The tenant's configuration and its version",
    tags=TAGS,
    responses=_READ_RESPONSES,
)
def get_config() -> ConfigDocument:
    return _service().get(tenant_of(router, SCOPE))


@router.put(
    "/v1/config",
    summary="Replace the whole configuration",
    description="Written only if the stored configuration is still at `version` (the one "
    "GET /v1/config returned); otherwise 409 version_conflict.",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_config(document: Annotated[ConfigDocument, Body()]) -> ConfigDocument:
    return _service().replace(tenant_of(router, SCOPE), document.config, document.version)


@router.put(
    "/v1/config/domains",
    summary="Replace the managed domains",
    description="Mail for a domain is accepted once it is listed here, and routed to its "
    "inbound servers. A domain managed by another tenant is refused (409 domain_taken).",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_domains(domains: Annotated[list[DomainConfig], Body()]) -> ConfigDocument:
    return _update("domains", domains)


@router.put(
    "/v1/config/sender_filter",
    summary="Replace the blocked and approved senders",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_sender_filter(sender_filter: Annotated[SenderFilter, Body()]) -> ConfigDocument:
    return _update("sender_filter", sender_filter)


@router.put(
    "/v1/config/ip_reputation",
    summary="Replace the IP reputation settings",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_ip_reputation(ip_reputation: Annotated[IpReputation, Body()]) -> ConfigDocument:
    return _update("ip_reputation", ip_reputation)


@router.put(
    "/v1/config/tls_peers",
    summary="Replace the peers that must use TLS",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_tls_peers(tls_peers: Annotated[list[TlsPeer], Body()]) -> ConfigDocument:
    return _update("tls_peers", tls_peers)


@router.put(
    "/v1/config/outbound_tls_peers",
    summary="Replace the destination domains that mail is delivered to over TLS only",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_outbound_tls_peers(
    outbound_tls_peers: Annotated[list[OutboundTlsPeer], Body()],
) -> ConfigDocument:
    return _update("outbound_tls_peers", outbound_tls_peers)


@router.put(
    "/v1/config/reverse_dns",
    summary="Replace the reverse DNS check settings",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_reverse_dns(reverse_dns: Annotated[ReverseDns, Body()]) -> ConfigDocument:
    return _update("reverse_dns", reverse_dns)


@router.put(
    "/v1/config/limits",
    summary="Replace the message size and rate limits",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_limits(limits: Annotated[Limits, Body()]) -> ConfigDocument:
    return _update("limits", limits)


@router.put(
    "/v1/config/policies",
    summary="Replace the policy rules of both directions",
    description="The rule that is not editable (the outbound global spam rule) must stay as "
    "it is (403 rule_not_editable). /v1/policies/{direction} edits one rule at a time.",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_policies(policies: Annotated[Policies, Body()]) -> ConfigDocument:
    return _update("policies", policies)


@router.put(
    "/v1/config/threat_protection",
    summary="Replace the phishing, web reputation and BEC settings",
    description="`blocked_urls`: domains (and their subdomains) or web addresses whose links "
    "are web reputation detections. `executives`: names that outside senders impersonate, each "
    "with the addresses the person really uses.",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_threat_protection(
    threat_protection: Annotated[ThreatProtection, Body()],
) -> ConfigDocument:
    return _update("threat_protection", threat_protection)


@router.put(
    "/v1/config/domain_auth",
    summary="Replace the domain-based authentication rules (inbound)",
    description="Sender IP match, SPF (an action per result), DKIM and DMARC: each off until "
    "enabled, with its own scope and actions; stage 2 runs them before the policy rules.",
    tags=TAGS,
    responses=_WRITE_RESPONSES,
)
def put_domain_auth(domain_auth: Annotated[DomainAuth, Body()]) -> ConfigDocument:
    return _update("domain_auth", domain_auth)
