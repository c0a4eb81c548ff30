"""The business email compromise (BEC) producer, inbound mail only.

Detection methods (catalog):
- ``antispam_engine``: an outside sender wears the display name of one of the tenant's
  executives; the sender's domain is a homoglyph of one of the tenant's domains (same
  skeleton).
- ``antispam_engine_probable``: the display name contains an executive's name; the sender's
  domain is one or two typing slips from one of the tenant's; Reply-To diverts the answer to
  a free-mail address.
- ``writing_style``: with one of the signs above, or a Reply-To to another domain, the text
  asks for money or bank details and presses for haste or secrecy.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable

from functions.scan.evidence.known_domains import FREE_MAIL, domain_of, registrable, within
from functions.scan.evidence.lookalike import distance, skeleton
from functions.scan.evidence.mime.model import Mailbox, Message
from functions.scan.evidence.verdicts import Envelope, Finding, Verdict
from mailgate.catalog import Direction, ThreatType
from mailgate.tenant_config import Executive, TenantConfig

ENGINE = "bec analysis"
SURE, PROBABLE, STYLE = "antispam_engine", "antispam_engine_probable", "writing_style"
_WORD = re.compile(r"\w+")
# Phrases of the BEC playbook (English and Japanese): a request for money, and pressure.
_REQUESTS = re.compile(
    r"wire transfer|bank transfer|gift ?cards?|bank (?:details|account)|account details|"
    r"change of (?:bank|account)|new (?:bank|account)|outstanding (?:payment|invoice)|"
    r"process (?:a|the) payment|振込|振り込み|送金|口座|ギフトカード|支払",
    re.IGNORECASE,
)
_PRESSURE = re.compile(
    r"\burgent(?:ly)?\b|\basap\b|\bimmediately\b|\bconfidential\b|are you (?:available|at "
    r"your desk)|between us|before end of day|\btoday\b|至急|急ぎ|大至急|本日中|内密|極秘|今すぐ",
    re.IGNORECASE,
)
_STYLE_TEXT = 20_000  # characters of the bodies read for phrases


def _name_tokens(name: str) -> list[str]:
    return _WORD.findall(skeleton(unicodedata.normalize("NFKC", name)))


def _impersonated(shown: str, executive: Executive) -> str:
    """SURE when ``shown`` is the executive's name (any order, look-alike letters), PROBABLE
    when it contains it, else ""."""
    wanted, seen = _name_tokens(executive.name), _name_tokens(shown)
    if not wanted or not seen:
        return ""
    if sorted(wanted) == sorted(seen) or "".join(wanted) == "".join(seen):
        return SURE
    if all(token in seen for token in wanted) or "".join(wanted) in "".join(seen):
        return PROBABLE
    return ""


def _lookalike(domain: str, own: Iterable[str]) -> tuple[str, str] | None:
    """(method, the tenant's domain) when ``domain`` imitates one of the tenant's domains."""
    mine = registrable(domain)
    theirs = {registrable(d) for d in own}
    if mine in theirs:
        return None
    for real in sorted(theirs):
        if skeleton(mine) == skeleton(real):
            return SURE, real
        name = real.split(".")[0]
        allowed = 2 if len(name) >= 10 else 1 if len(name) >= 5 else 0
        if allowed and distance(skeleton(mine), skeleton(real), allowed) <= allowed:
            return PROBABLE, real
    return None


class Bec:
    threats = frozenset({ThreatType.BEC})

    def __init__(self, configs: Callable[[str], TenantConfig]) -> None:
        self._configs = configs

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict:
        if envelope.direction is not Direction.INBOUND:
            return Verdict(ENGINE, self.threats)
        config = self._configs(envelope.tenant_id)
        own = [domain.name for domain in config.domains]
        findings: list[Finding] = []
        senders = [box for box in message.from_ if box.address]
        for box in senders:
            findings += _impersonations(box, own, config.threat_protection.executives)
        for domain in dict.fromkeys(
            [*(domain_of(b.address) for b in senders), domain_of(envelope.sender)]
        ):
            found = _lookalike(domain, own) if domain else None
            if found:
                method, real = found
                findings.append(
                    Finding(
                        ThreatType.BEC,
                        method=method,
                        name=f"look-alike of {real}: {domain}",
                        details={"lookalike_of": real, "domain": domain},
                    )
                )
        diverted = _reply_diverted(message)
        if diverted:
            findings.append(diverted)
        style = _writing_style(message, findings, own)
        if style:
            findings.append(style)
        order = {SURE: 0, STYLE: 1, PROBABLE: 2}
        return Verdict(ENGINE, self.threats, tuple(sorted(findings, key=lambda f: order[f.method])))


def _ours(address: str, own: list[str]) -> bool:
    domain = domain_of(address)
    return any(domain == d or domain.endswith("." + d) for d in own)


def _impersonations(box: Mailbox, own: list[str], executives: Iterable[Executive]) -> list[Finding]:
    if not box.name or _ours(box.address, own):
        return []
    found = []
    for executive in executives:
        if box.address.lower() in (a.lower() for a in executive.addresses):
            continue
        method = _impersonated(box.name, executive)
        if method:
            found.append(
                Finding(
                    ThreatType.BEC,
                    method=method,
                    name=f"display name of {executive.name} from {box.address}",
                    details={"executive": executive.name, "sender": box.address},
                )
            )
    return found


def _reply_diverted(message: Message) -> Finding | None:
    """Reply-To sends the answer to a free-mail mailbox that is not where the mail came from."""
    sent_from = {registrable(domain_of(b.address)) for b in message.from_ if b.address}
    if any(within(d, FREE_MAIL) for d in sent_from):
        return None
    for box in message.reply_to:
        domain = domain_of(box.address)
        provider = within(domain, FREE_MAIL)
        if provider and registrable(domain) not in sent_from:
            return Finding(
                ThreatType.BEC,
                method=PROBABLE,
                name=f"Reply-To diverts to {provider}",
                details={"reply_to": box.address},
            )
    return None


def _writing_style(message: Message, signs: list[Finding], own: list[str]) -> Finding | None:
    outside = [box for box in message.from_ if box.address and not _ours(box.address, own)]
    sent_from = {registrable(domain_of(b.address)) for b in message.from_}
    reply_elsewhere = any(
        registrable(domain_of(r.address)) not in sent_from for r in message.reply_to if r.address
    )
    if not outside or not (signs or reply_elsewhere):
        return None
    text = " ".join((message.subject, message.text[:_STYLE_TEXT], message.html_text[:_STYLE_TEXT]))
    request, pressure = _REQUESTS.search(text), _PRESSURE.search(text)
    if request is None or pressure is None:
        return None
    phrases = f"{request.group(0)}, {pressure.group(0)}"
    return Finding(
        ThreatType.BEC,
        method=STYLE,
        name=f"payment request under pressure ({phrases})",
        details={"phrases": phrases},
    )
