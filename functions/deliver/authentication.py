"""What the servers of one destination must prove before they are sent a message: DANE
(``dane.py``) and MTA-STS (``mta_sts.py``), and the outcome of each for one server.

Refusals are never a plain-text fallback: the server is passed over and, when no server is
left, the recipients stay ``temporary_error``. MTA-STS ``testing`` never refuses; its failures
are only recorded (``mta_sts`` "no").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from functions.deliver import dane
from functions.deliver.dane import NO_DANE, HostDane
from functions.deliver.mta_sts import Policy, PolicySource
from functions.deliver.routing import Server


@dataclass(frozen=True)
class Verdict:
    """``dane`` / ``mta_sts``: "yes" when the session was authenticated that way;
    ``refusal``: why the server must not be sent the message; ``notes`` for the timeline."""

    dane: str = "no"
    mta_sts: str = "no"
    refusal: str = ""
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Authentication:
    domain: str
    dane: Mapping[str, HostDane] = field(default_factory=dict)
    sts: Policy | None = None
    sts_note: str = ""  # how the policy was found, or why there is none
    valid_for: Callable[[list[bytes], str], bool] = lambda chain, host: False

    @property
    def _enforced(self) -> bool:
        return self.sts is not None and self.sts.mode == "enforce"

    def refusal(self, host: str) -> str:
        """Why ``host`` must not be connected to at all, or ""."""
        failure = self.dane.get(host, NO_DANE).failure
        if failure:
            return failure
        if self.sts is not None and self._enforced and not self.sts.allows(host):
            return f"MX host {host} is not in the MTA-STS policy of {self.domain} (enforce)"
        return ""

    def tls_required(self, host: str) -> str:
        """The rule that makes TLS mandatory for ``host``, or ""."""
        if self.dane.get(host, NO_DANE).records:
            return f"DANE (TLSA records of {host})"
        if self._enforced:
            return f"MTA-STS policy of {self.domain} (enforce)"
        return ""

    def without_tls(self, host: str) -> Verdict:
        """A server that does not offer STARTTLS."""
        required = self.tls_required(host)
        refusal = f"does not offer STARTTLS, required by {required}" if required else ""
        return Verdict(refusal=refusal, notes=tuple(self._sts_notes(host, "no STARTTLS")))

    def check(self, host: str, chain: list[bytes]) -> Verdict:
        """The session's certificate ``chain`` (DER, the server's own first)."""
        records = self.dane.get(host, NO_DANE).records
        dane_ok, refusals, notes = "no", [], []
        if records:
            matched = dane.authenticate(records, chain, host)
            if matched is None:
                refusals.append(f"certificate does not match the DANE TLSA records of {host}")
            else:
                dane_ok = "yes"
                notes.append(f"DANE: certificate matches TLSA {matched}")
        sts_ok = "no"
        if self.sts is not None and self.sts.mode != "none":
            valid = self.valid_for(chain, host)
            if valid and self.sts.allows(host):
                sts_ok = "yes"
                notes.append(f"MTA-STS {self.sts.mode}: {host} verified ({self.sts_note})")
            elif self._enforced:
                refusals.append(f"certificate not valid for {host}, required by MTA-STS")
            else:
                why = "certificate not valid" if not valid else "MX not in the policy"
                notes.extend(self._sts_notes(host, why))
        return Verdict(dane_ok, sts_ok, "; ".join(refusals), tuple(notes))

    def _sts_notes(self, host: str, why: str) -> list[str]:
        if self.sts is None or self.sts.mode != "testing":
            return []
        return [f"MTA-STS testing: {host} failed ({why}), delivered anyway"]


class Authenticator:
    """Looks up what an MX destination's servers must prove."""

    def __init__(self, dane_lookup: dane.DaneLookup, policies: PolicySource) -> None:
        self._dane = dane_lookup
        self._policies = policies

    def __call__(self, domain: str, servers: list[Server]) -> Authentication:
        """Raises ``dnssec.Bogus`` or ``DnsUnavailable`` when the MX answer cannot be trusted
        or had."""
        hosts = list(dict.fromkeys(server.name for server in servers))
        port = servers[0].port if servers else 25
        found = self._policies.find(domain)
        return Authentication(
            domain,
            self._dane.hosts(domain, hosts, port),
            found.policy,
            found.note,
            self._policies.valid_for,
        )
