"""The virus engine (clamd) as a producer: the whole message in one stream (clamd reads its
MIME parts and archives itself); when it finds something, each attachment is scanned alone
to name the violating file."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from functions.scan.evidence.mime.budget import Budget
from functions.scan.evidence.mime.content import decoded_body
from functions.scan.evidence.mime.model import Limits, Message
from functions.scan.evidence.mime.tree import walk
from functions.scan.evidence.verdicts import Envelope, Finding, RemoteProducer, Verdict
from mailgate.catalog import ThreatType
from mailgate.engines import EngineError, OverLimit
from mailgate.engines.clamd import ClamdClient, VirusScan

ENGINE = "clamd"
# clamd's heuristic for an archive or document it could not open for its password.
ENCRYPTED_PREFIX = "Heuristics.Encrypted."
MAX_NAMED_ATTACHMENTS = 50  # attachments scanned one by one to name the file


class VirusProducer(RemoteProducer):
    threats = frozenset({ThreatType.MALWARE, ThreatType.SCAN_EXCLUSION})

    def __init__(self, client: ClamdClient, limits: Limits | None = None) -> None:
        self._client = client
        self._limits = limits or Limits()

    def ask(self, raw: bytes, message: Message, envelope: Envelope) -> Callable[[], Verdict]:
        try:
            answer = self._client.send_scan(raw)
        except EngineError as error:
            return partial(self._failed, error)
        return partial(self._verdict, answer, raw, message)

    def _failed(self, error: EngineError) -> Verdict:
        lasting = isinstance(error, OverLimit)
        return Verdict(ENGINE, self.threats, failure=str(error), lasting=lasting)

    def _verdict(self, answer: Callable[[], VirusScan], raw: bytes, message: Message) -> Verdict:
        try:
            signature = answer().signature
            if not signature:
                return Verdict(ENGINE, self.threats)
            engine, database = self._client.version()
            named = self._name_files(raw, message)
        except EngineError as error:
            return self._failed(error)
        details = {"virus_version": f"{engine};{database}"}
        found = named or [(signature, "")]
        return Verdict(ENGINE, self.threats, tuple(_finding(s, f, details) for s, f in found))

    def _name_files(self, raw: bytes, message: Message) -> list[tuple[str, str]]:
        """(signature, file name) of each attachment clamd flags on its own."""
        names = {a.index: a.name for a in message.attachments}
        found: list[tuple[str, str]] = []
        budget = Budget(self._limits)
        scanned = 0
        for part in walk(raw, budget):
            if part.leaf is None or part.leaf not in names or scanned >= MAX_NAMED_ATTACHMENTS:
                continue
            scanned += 1
            data = decoded_body(raw, part)
            if len(data) > self._client.max_bytes:
                continue
            signature = self._client.scan(data).signature
            if signature:
                found.append((signature, names[part.leaf] or f"attachment {part.leaf + 1}"))
        return found


def _finding(signature: str, file: str, details: dict[str, str]) -> Finding:
    if signature.startswith(ENCRYPTED_PREFIX):
        return Finding(
            ThreatType.SCAN_EXCLUSION,
            subtype="password_protected",
            name=signature,
            file=file,
            details=details,
        )
    return Finding(ThreatType.MALWARE, method="pattern", name=signature, file=file, details=details)
