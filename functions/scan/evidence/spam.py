"""The spam engine (rspamd) as a producer: the message's spam score, which each spam rule
compares with its level's threshold."""

from __future__ import annotations

from functions.scan.evidence.mime.model import Message
from functions.scan.evidence.verdicts import Envelope, Finding, Verdict
from mailgate.catalog import ThreatType
from mailgate.engines import EngineError
from mailgate.engines.rspamd import RspamdClient

ENGINE = "rspamd"
SHOWN_SYMBOLS = 10


class SpamProducer:
    threats = frozenset({ThreatType.SPAM})

    def __init__(self, client: RspamdClient, rules_version: str) -> None:
        self._client = client
        self._rules_version = rules_version

    def examine(self, raw: bytes, message: Message, envelope: Envelope) -> Verdict:
        try:
            check = self._client.check(
                raw,
                client_ip=envelope.client_ip,
                helo=envelope.helo,
                sender=envelope.sender,
                recipients=envelope.recipients,
            )
        except EngineError as error:
            return Verdict(ENGINE, self.threats, failure=str(error))
        finding = Finding(
            ThreatType.SPAM,
            name=f"spam score {check.score:.2f}",
            score=check.score,
            details={
                # Seed 004's version string: engine version and rules version.
                "spam_version": f"{check.version};{self._rules_version}",
                "spam_rules": " ".join(check.symbols[:SHOWN_SYMBOLS]),
            },
        )
        return Verdict(ENGINE, self.threats, findings=(finding,))
