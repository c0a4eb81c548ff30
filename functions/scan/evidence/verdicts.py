"""The seam between detection engines and the policy engine.

An engine (rspamd, clamd, SPF/DKIM/DMARC, …) is a ``Producer``: it examines the message and
answers a ``Verdict`` — its findings, or no verdict and why. Producers may do I/O; they never
write records. The policy engine reads only the verdicts and the message model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from typing import Protocol

from functions.scan.evidence.mime.model import Message
from mailgate.catalog import Direction, ThreatType


@dataclass(frozen=True)
class Envelope:
    tenant_id: str
    direction: Direction
    sender: str  # "" for the null sender
    recipients: tuple[str, ...]
    client_ip: str
    helo: str = ""


@dataclass(frozen=True)
class Finding:
    """One thing an engine detected."""

    threat: ThreatType
    subtype: str = ""
    method: str = ""
    name: str = ""  # the threat name, e.g. a virus name
    score: float | None = None  # spam: the score the levels' thresholds are compared with
    file: str = ""  # the violating attachment
    url: str = ""  # the violating URL
    details: Mapping[str, str] = field(default_factory=dict)  # result and version strings


@dataclass(frozen=True)
class Verdict:
    engine: str
    threats: frozenset[ThreatType]  # what the engine looks for
    findings: tuple[Finding, ...] = ()
    failure: str = ""  # no verdict: why (engine down, timeout, error answer, a limit reached)
    lasting: bool = False  # the failure would recur on a retry (the message is over a limit)
    # Header fields the engine adds to the delivered message (name, value), e.g. the
    # Authentication-Results of domain-based authentication.
    headers: tuple[tuple[str, str], ...] = ()


class Producer(Protocol):
    threats: frozenset[ThreatType]

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict: ...


class RemoteProducer:
    """A producer whose engine runs in another process (rspamd, clamd): ``ask`` sends it the
    message and answers the reader of its verdict, so every such engine is asked before the
    stage waits on any, and they work at the same time."""

    threats: frozenset[ThreatType]

    def ask(self, raw: bytes, message: Message, envelope: Envelope) -> Callable[[], Verdict]:
        raise NotImplementedError

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict:
        return self.ask(raw, message, envelope)()


@dataclass(frozen=True)
class Evidence:
    message: Message
    envelope: Envelope
    verdicts: Mapping[ThreatType, Verdict] = field(default_factory=dict)

    def verdict(self, threat: ThreatType) -> Verdict | None:
        """The verdict of the engine that looks for ``threat``; None when no such engine is
        configured."""
        return self.verdicts.get(threat)


def collect(
    producers: Sequence[Producer],
    raw: bytes,
    message: Message,
    envelope: Envelope,
    needed: Set[ThreatType],
) -> Evidence:
    """The verdicts of the producers that look for a ``needed`` threat; the others are not
    asked (no rule would read what they found). The remote engines are asked first, the
    producers of this process examine the message while those work, and then their answers
    are read; a later producer's verdict on a threat wins, as the producers are listed."""
    asked = [p for p in producers if not p.threats.isdisjoint(needed)]
    answers = {
        i: p.ask(raw, message, envelope)
        for i, p in enumerate(asked)
        if isinstance(p, RemoteProducer)
    }
    examined = {
        i: p.examine(raw, message, envelope) for i, p in enumerate(asked) if i not in answers
    }
    verdicts: dict[ThreatType, Verdict] = {}
    for i in range(len(asked)):
        verdict = examined[i] if i in examined else answers[i]()
        for threat in verdict.threats:
            verdicts[threat] = verdict
    return Evidence(message, envelope, verdicts)
