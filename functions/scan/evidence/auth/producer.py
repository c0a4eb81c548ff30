"""The domain-based authentication engine: runs the checks the tenant's enabled rules need on
inbound mail and reports a finding per failed check, the results in its details, and the
``Authentication-Results`` field for the delivered message."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import dns.resolver

from functions.scan.evidence.mime.model import Message
from functions.scan.evidence.verdicts import Envelope, Finding, Verdict
from mailgate.catalog import Direction, ThreatType
from mailgate.config_fields import in_networks
from mailgate.domain_auth import DomainAuth

from . import dkim, dmarc, results, spf

ENGINE = "domain authentication"
THREATS = frozenset({ThreatType.DOMAIN_AUTH})
MAX_FROM_DOMAINS = 5


def _domain(address: str) -> str:
    return address.rpartition("@")[2].lower().rstrip(".") if "@" in address else ""


def _under(domain: str, parent: str) -> bool:
    return domain == parent or domain.endswith("." + parent)


def sender_ip_findings(
    settings: DomainAuth, from_domains: list[str], client_ip: str
) -> list[Finding]:
    found = []
    for domain in from_domains:
        networks = settings.sender_ip_match.networks(domain)
        if networks is not None and not in_networks(client_ip, networks):
            found.append(
                Finding(
                    ThreatType.DOMAIN_AUTH,
                    subtype="sender_ip_match",
                    name="Sender IP match: not a registered sending address",
                    details={"from_domain": domain, "client_ip": client_ip, "result": "fail"},
                )
            )
    return found


def spf_finding(result: spf.SpfResult) -> Finding:
    return Finding(
        ThreatType.DOMAIN_AUTH,
        subtype="spf",
        name=f"SPF {result.result}",
        details={
            "result": result.result,
            "identity": result.identity,
            "domain": result.domain,
            "explanation": result.explanation,
        },
    )


def dkim_findings(
    settings: DomainAuth, signatures: Sequence[dkim.DkimResult], peer_domain: str
) -> list[Finding]:
    """Signed, but no signature verifies (temporary errors aside); or a domain that must sign
    without a valid signature of its own."""
    summary = "; ".join(f"{s.domain or '?'} ({s.selector or '?'}): {s.result}" for s in signatures)
    passing = [s.domain for s in signatures if s.result == "pass"]
    failed = [s for s in signatures if s.result in ("fail", "permerror")]
    reason = ""
    if failed and not passing and all(s.result != "temperror" for s in signatures):
        reason = f"no signature verifies: {failed[0].reason or failed[0].result}"
    enforced = next(
        (e for e in settings.dkim.enforced_domains if peer_domain and _under(peer_domain, e)), None
    )
    if enforced and not any(_under(d, enforced) for d in passing):
        pending = any(s.result == "temperror" and _under(s.domain, enforced) for s in signatures)
        if not pending:
            reason = f"mail from {peer_domain} must carry a valid signature of {enforced}"
    if not reason:
        return []
    return [
        Finding(
            ThreatType.DOMAIN_AUTH,
            subtype="dkim",
            name="DKIM verification failed",
            details={"result": "fail", "reason": reason, "signatures": summary or "none"},
        )
    ]


def dmarc_findings(
    result: dmarc.DmarcResult, spf_result: spf.SpfResult, dkim_passed: bool
) -> list[Finding]:
    details = {"result": result.result, "from_domain": result.from_domain}
    if result.result in ("none", "permerror"):
        details["reason"] = result.reason
        return [Finding(ThreatType.DOMAIN_AUTH, subtype="dmarc_availability",
                        name="DMARC: no usable record", details=details)]  # fmt: skip
    if result.result != "fail" or result.policy not in ("quarantine", "reject"):
        return []
    assert result.record is not None
    details |= {"policy": result.policy, "record_domain": result.record.domain}
    subtypes = []
    if result.unaligned_pass:
        subtypes.append(("dmarc_alignment", "DMARC: SPF or DKIM passed for an unaligned domain"))
    if spf_result.result != "pass":
        subtypes.append(("dmarc_spf", f"DMARC: SPF {spf_result.result}"))
    if not dkim_passed:
        subtypes.append(("dmarc_dkim", "DMARC: no valid DKIM signature"))
    return [
        Finding(ThreatType.DOMAIN_AUTH, subtype=subtype, name=name, details=details)
        for subtype, name in subtypes
    ]


class DomainAuthProducer:
    threats = THREATS

    def __init__(
        self,
        settings: Callable[[str], DomainAuth],
        resolver: dns.resolver.Resolver,
        authserv_id: str,
        timeout: float = 20.0,
    ) -> None:
        self._settings = settings
        self._resolver = resolver
        self._authserv_id = authserv_id
        self._timeout = timeout

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict:
        settings = self._settings(envelope.tenant_id)
        if envelope.direction is not Direction.INBOUND or not settings.enabled:
            return Verdict(ENGINE, THREATS)
        try:
            return self._examine(settings, raw, message, envelope)
        except Exception as error:  # never lose the message over a check
            return Verdict(ENGINE, THREATS, failure=f"{type(error).__name__}: {error}")

    def _examine(
        self, settings: DomainAuth, raw: bytes, message: Message, envelope: Envelope
    ) -> Verdict:
        from_domains = list(dict.fromkeys(d for b in message.from_ if (d := _domain(b.address))))
        from_domains = from_domains[:MAX_FROM_DOMAINS]
        findings: list[Finding] = []
        if settings.sender_ip_match.enabled:
            findings.extend(sender_ip_findings(settings, from_domains, envelope.client_ip))
        spf_result = signatures = dmarc_result = None
        if settings.spf.enabled or settings.dmarc.enabled:
            spf_result = spf.check(
                envelope.client_ip, envelope.sender, envelope.helo, self._resolver, self._timeout
            )
            if settings.spf.enabled:
                findings.append(spf_finding(spf_result))
        if settings.dkim.enabled or settings.dmarc.enabled:
            signatures = dkim.check(raw, self._resolver)
            if settings.dkim.enabled:
                by_from = settings.dkim.peer == "header_from" or not envelope.sender
                peer = from_domains[0] if by_from and from_domains else _domain(envelope.sender)
                findings.extend(dkim_findings(settings, signatures, peer))
        if settings.dmarc.enabled and from_domains:
            assert spf_result is not None and signatures is not None
            checked = [
                dmarc.evaluate(raw, d, spf_result, signatures, self._resolver) for d in from_domains
            ]
            dmarc_result = next((r for r in checked if r.result == "fail"), checked[0])
            dkim_passed = any(s.result == "pass" for s in signatures)
            for result in checked:
                findings.extend(dmarc_findings(result, spf_result, dkim_passed))
        header = results.field_value(self._authserv_id, spf_result, signatures, dmarc_result)
        return Verdict(ENGINE, THREATS, tuple(findings), headers=((results.FIELD, header),))
