"""The phishing and web reputation producer: each link of the message against the tenant's
blocked URLs and the URL/domain block lists in DNS (SURBL/URIBL style), and each HTML link
whose text shows one domain while it goes to another."""

from __future__ import annotations

import ipaddress
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from functions.scan.evidence.known_domains import ESP_DOMAINS, SHORTENERS, registrable, within
from functions.scan.evidence.mime.model import Message
from functions.scan.evidence.urls.extract import Link, links, normalize, shown_host
from functions.scan.evidence.verdicts import Envelope, Finding, Verdict
from mailgate.catalog import ThreatType
from mailgate.dns import DnsUnavailable
from mailgate.tenant_config import TenantConfig

log = logging.getLogger(__name__)
ENGINE = "url reputation"
MAX_LOOKUPS = 50  # distinct names asked of each zone per message
_LISTED = ipaddress.ip_network("127.0.0.0/8")
# SURBL and URIBL answer 127.0.0.1 to a query they refuse (too many, or a public resolver).
_REFUSED = "127.0.0.1"
_ZONE_THREATS = {"phishing": ThreatType.PHISHING, "web_reputation": ThreatType.WEB_REPUTATION}


@dataclass(frozen=True)
class Zone:
    threat: ThreatType
    name: str


def zones(entries: Sequence[str]) -> tuple[Zone, ...]:
    """``phishing=zone`` / ``web_reputation=zone`` entries (MAILGATE_URL_REPUTATION_ZONES)."""
    found = []
    for entry in entries:
        kind, _, zone = entry.partition("=")
        threat = _ZONE_THREATS.get(kind.strip().lower())
        if threat is None or not zone.strip():
            raise ValueError(
                f"MAILGATE_URL_REPUTATION_ZONES: '{entry}' is not threat=zone "
                "(threats: phishing, web_reputation)"
            )
        found.append(Zone(threat, zone.strip().rstrip(".").lower()))
    return tuple(found)


def _query_names(link: Link) -> list[str]:
    """The names a URI block list is asked about: an IPv4 host reversed (as DNSBLs list IPs),
    else the registered domain, and the host itself when it is longer."""
    if link.ip:
        address = ipaddress.ip_address(link.host)
        return [".".join(reversed(link.host.split(".")))] if address.version == 4 else []
    domain = registrable(link.host)
    return [domain] if domain == link.host else [domain, link.host]


class UrlReputation:
    threats = frozenset({ThreatType.PHISHING, ThreatType.WEB_REPUTATION})

    def __init__(
        self,
        zones_: Sequence[Zone],
        a_records: Callable[[str], list[str]],
        configs: Callable[[str], TenantConfig],
    ) -> None:
        self._zones = zones_
        self._a_records = a_records
        self._configs = configs

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict:
        found = links(message)
        blocked = self._configs(envelope.tenant_id).threat_protection.blocked_urls
        findings = [f for link in found if (f := _tenant_listed(link, blocked))]
        listed, failures = self._listed(found)
        findings += listed
        findings += [f for link in found if (f := _mismatch(link))]
        if not findings and failures:
            return Verdict(ENGINE, self.threats, failure="; ".join(failures))
        return Verdict(ENGINE, self.threats, tuple(findings))

    def _listed(self, found: list[Link]) -> tuple[list[Finding], list[str]]:
        """One detection per list at most (the first listed link); the lists that failed."""
        findings: list[Finding] = []
        failures: list[str] = []
        for zone in self._zones:
            asked: set[str] = set()
            try:
                for link in found:
                    names = [n for n in _query_names(link) if n not in asked]
                    names = names[: MAX_LOOKUPS - len(asked)]
                    asked.update(names)
                    hit = next((n for n in names if self._is_listed(n, zone)), None)
                    if hit is not None:
                        details = {"list": zone.name, "listed": hit}
                        findings.append(_finding(zone.threat, link, zone.name, details))
                        break
            except DnsUnavailable as error:
                failures.append(f"the block list {zone.name} did not answer ({error})")
        return findings, failures

    def _is_listed(self, name: str, zone: Zone) -> bool:
        answers = self._a_records(f"{name}.{zone.name}")
        if _REFUSED in answers:
            log.warning("the block list %s refused the query for %s", zone.name, name)
        return any(a != _REFUSED and ipaddress.ip_address(a) in _LISTED for a in answers)


def _finding(threat: ThreatType, link: Link, name: str, details: dict[str, str]) -> Finding:
    shortener = within(link.host, SHORTENERS)
    if shortener:
        details["shortener"] = shortener
    return Finding(threat, name=name, url=link.url, details=details)


def _tenant_listed(link: Link, blocked: Sequence[str]) -> Finding | None:
    address = link.url.split("://", 1)[1]
    for entry in blocked:
        if "://" in entry:
            prefix = normalize(entry)
            if prefix is None or not address.startswith(prefix.url.split("://", 1)[1]):
                continue
        elif link.host != entry and not link.host.endswith("." + entry):
            continue
        return _finding(
            ThreatType.WEB_REPUTATION, link, "tenant block list", {"blocked_url": entry}
        )
    return None


def _mismatch(link: Link) -> Finding | None:
    """A link that shows one site and goes to another: phishing. Redirects through a known
    bulk-mail platform's click tracking are how newsletters link, not a deception."""
    shown = shown_host(link.shown) if link.shown else ""
    if not shown or registrable(shown) == registrable(link.host):
        return None
    if within(link.host, ESP_DOMAINS):
        return None
    return _finding(
        ThreatType.PHISHING,
        link,
        f"link shows {shown} but goes to {link.host}",
        {"shown": shown, "target": link.host},
    )
