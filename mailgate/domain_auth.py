"""The tenant's domain-based authentication settings (inbound only): four rules — sender IP
match, SPF, DKIM, DMARC — each off by default with its own scope (exceptions) and actions.

Stage 2 runs them as rules of the first category, ``domain_auth``, before the policy rules;
each matches the findings the authentication engine reports under its subtype.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from mailgate.catalog import SPF_RESULTS, ThreatType
from mailgate.config_fields import DomainName, Network
from mailgate.policy.rules import Actions, Rule, RuleCategory, Scope, ThreatCondition

DMARC_SUBTYPES = ("dmarc_alignment", "dmarc_spf", "dmarc_dkim")
SpfResultCode = Literal["pass", "fail", "softfail", "neutral", "none", "temperror", "permerror"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SendingDomain(_Strict):
    """A header From domain and the addresses its mail may come from."""

    domain: DomainName
    networks: list[Network] = Field(min_length=1, max_length=1000)


class SenderIpMatch(_Strict):
    enabled: bool = False
    scope: Scope = Field(default_factory=Scope)
    actions: Actions = Field(default_factory=Actions)
    domains: list[SendingDomain] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _unique(self) -> SenderIpMatch:
        names = [entry.domain for entry in self.domains]
        twice = next((name for name in names if names.count(name) > 1), None)
        if twice is not None:
            raise ValueError(f"sender_ip_match: {twice} is listed more than once")
        return self

    def networks(self, domain: str) -> list[str] | None:
        """The registered networks of a From domain; None when it is not registered."""
        domain = domain.lower()
        return next((e.networks for e in self.domains if e.domain == domain), None)


class Spf(_Strict):
    """``actions``: what to do for each SPF result; a result not listed is not acted on."""

    enabled: bool = False
    scope: Scope = Field(default_factory=Scope)
    actions: dict[SpfResultCode, Actions] = Field(default_factory=dict)


class Dkim(_Strict):
    """Signatures that do not verify are a detection; so is mail from an ``enforced_domains``
    domain (subdomains included) without a valid signature of that domain. The domain is the
    envelope sender's (the header From's when ``peer`` says so, or the sender is null)."""

    enabled: bool = False
    scope: Scope = Field(default_factory=Scope)
    actions: Actions = Field(default_factory=Actions)
    enforced_domains: list[DomainName] = Field(default_factory=list, max_length=1000)
    peer: Literal["envelope_sender", "header_from"] = "envelope_sender"


class Dmarc(_Strict):
    """A detection when DMARC fails and the From domain's policy (``p``/``sp`` after ``pct``)
    is quarantine or reject; with ``no_record``, also when the domain publishes no usable
    record (availability)."""

    enabled: bool = False
    scope: Scope = Field(default_factory=Scope)
    actions: Actions = Field(default_factory=Actions)
    no_record: bool = False


class DomainAuth(_Strict):
    sender_ip_match: SenderIpMatch = Field(default_factory=SenderIpMatch)
    spf: Spf = Field(default_factory=Spf)
    dkim: Dkim = Field(default_factory=Dkim)
    dmarc: Dmarc = Field(default_factory=Dmarc)

    @property
    def enabled(self) -> bool:
        return any(c.enabled for c in (self.sender_ip_match, self.spf, self.dkim, self.dmarc))

    def rules(self) -> list[Rule]:
        """The rules stage 2 runs first for inbound mail, in the catalog's order."""
        ip, spf, dkim, dmarc = self.sender_ip_match, self.spf, self.dkim, self.dmarc
        rules = [_rule("sender-ip-match", "Sender IP match", ip, ip.actions, ["sender_ip_match"])]
        for result, actions in sorted(spf.actions.items(), key=lambda i: SPF_RESULTS.index(i[0])):
            rules.append(_rule(f"spf-{result}", f"SPF ({result})", spf, actions, ["spf"], result))
        rules.append(_rule("dkim", "DKIM", dkim, dkim.actions, ["dkim"]))
        subtypes = [*DMARC_SUBTYPES, *(["dmarc_availability"] if dmarc.no_record else [])]
        rules.append(_rule("dmarc", "DMARC", dmarc, dmarc.actions, subtypes))
        return rules


def _rule(
    rule_id: str,
    name: str,
    check: SenderIpMatch | Spf | Dkim | Dmarc,
    actions: Actions,
    subtypes: list[str],
    spf_result: str = "",
) -> Rule:
    condition = ThreatCondition(
        threat=ThreatType.DOMAIN_AUTH,
        subtypes=subtypes,
        results=[spf_result] if spf_result else [],
    )
    return Rule(
        id=f"domain-auth-{rule_id}",
        name=name,
        category=RuleCategory.DOMAIN_AUTH,
        enabled=check.enabled,
        scope=check.scope,
        conditions=[condition],
        actions=actions,
    )
