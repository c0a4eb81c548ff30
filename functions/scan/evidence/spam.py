"""The spam engine (rspamd) as a producer: the message's spam score, which each spam rule
compares with its level's threshold."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from functions.scan.evidence.mime.model import Message
from functions.scan.evidence.verdicts import Envelope, Finding, RemoteProducer, Verdict
from mailgate.catalog import ThreatType
from mailgate.engines import EngineError
from mailgate.engines.rspamd import RspamdClient, SpamCheck

ENGINE = "rspamd"
SHOWN_SYMBOLS = 10


class SpamProducer(RemoteProducer):
    threats = frozenset({ThreatType.SPAM})

    def __init__(self, client: RspamdClient, rules_version: str) -> None:
        self._client = client
        self._rules_version = rules_version

    def ask(self, raw: bytes, message: Message, envelope: Envelope) -> Callable[[], Verdict]:
        try:
            answer = self._client.send_check(
                raw,
                client_ip=envelope.client_ip,
                helo=envelope.helo,
                sender=envelope.sender,
                recipients=envelope.recipients,
            )
        except EngineError as error:
            return partial(self._failed, error)
        return partial(self._verdict, answer)

    def _failed(self, error: EngineError) -> Verdict:
        return Verdict(ENGINE, self.threats, failure=str(error))

    def _verdict(self, answer: Callable[[], SpamCheck]) -> Verdict:
        try:
            check = answer()
        except EngineError as error:
            return self._failed(error)
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
