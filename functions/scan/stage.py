"""Stage 2: the message model and the engines' evidence, the tenant's rules in order, and the
applier's effects (docs/stage2.md).

Runs at least once per job: a message whose rows are all final (or in quarantine, unless this
is its release) is not scanned again, and every write of the applier is keyed.

The front writes a message's rows just after its job (functions/receive/intake.py), so a job is
often received before its rows exist. Its rows are looked at again once the message is parsed
and the engines have answered, which is usually time enough, then a few times for up to a
second; a job whose rows are still missing then is received again shortly; still missing once
the front cannot be writing them any more (``rows_grace``), the front died in between, and scan
writes them itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta

from functions.scan.actions import Applier
from functions.scan.evidence.mime.model import Limits, Message
from functions.scan.evidence.mime.parse import parse
from functions.scan.evidence.verdicts import Envelope, Producer, collect
from functions.scan.policy.engine import decide, threats_read
from mailgate.catalog import FINAL_STATUSES, Direction, Status, ThreatType
from mailgate.clock import utcnow
from mailgate.config_fields import in_networks, pattern_matches
from mailgate.jobs import ScanJob
from mailgate.message_summary import summarize
from mailgate.peer import Peer
from mailgate.policy.rules import Rule
from mailgate.ports import Mail, Tracking
from mailgate.records import TimelineEvent, TrackingRow
from mailgate.tenant_config import TenantConfig


class EnginesUnavailable(Exception):
    """An engine gave no verdict and the job has runs left: it is received again later."""


class RowsNotWritten(Exception):
    """The front may still be writing the message's rows: the job is received again in
    ``retry_s`` seconds."""

    def __init__(self, retry_s: int) -> None:
        super().__init__(f"rows not written yet; retried in {retry_s} s")
        self.retry_s = retry_s


# The first look again comes soon: the front writes the rows milliseconds after the job; the
# next at the end of the grace, so a job spends at most two extra receives of its redrive limit.
ROWS_RECHECK_S = 2
# Before that, a fresh job's rows are looked for a few times over this long: a busy front may
# write them a little after the engines answer, and waiting here costs less than a second
# receive, which parses and scans the message again.
ROWS_WAIT_S = 1.0
ROWS_POLL_S = 0.1


def _missing(job: ScanJob, statuses: Mapping[str, Status | None]) -> list[str]:
    return [r for r in dict.fromkeys(job.recipients) if r.lower() not in statuses]


def spam_exemption(config: TenantConfig, job: ScanJob, message: Message) -> str:
    """Why the inbound spam rules do not apply (catalog: approved senders, by envelope sender
    and header From; approved IPs when "bypass spam detection" is on), or empty."""
    if job.direction is not Direction.INBOUND:
        return ""
    approved = config.sender_filter.approved_senders
    senders = [job.sender, *(box.address for box in message.from_)]
    if any(pattern_matches(p, s) for p in approved for s in senders if s):
        return "approved sender"
    reputation = config.ip_reputation
    if reputation.bypass_spam_for_approved_ips and in_networks(
        job.sender_ip, reputation.approved_ips
    ):
        return "approved IP address"
    return ""


@dataclass(frozen=True)
class _Rules:
    config: TenantConfig
    rules: tuple[Rule, ...]
    read: frozenset[ThreatType]  # the threats the rules have conditions on
    read_when_exempt: frozenset[ThreatType]  # the same without the spam rules


class ScanStage:
    def __init__(
        self,
        tracking: Tracking,
        mail: Mail,
        configs: Callable[[str], TenantConfig],
        producers: Sequence[Producer],
        applier: Applier,
        limits: Limits | None = None,
        rows_grace: timedelta = timedelta(minutes=2),
    ) -> None:
        self._tracking = tracking
        self._mail = mail
        self._configs = configs
        self._producers = producers
        self._applier = applier
        self._limits = limits or Limits()
        self._rows_grace = rows_grace
        self._rules: dict[tuple[str, Direction], _Rules] = {}

    def _rules_of(self, tenant_id: str, config: TenantConfig, direction: Direction) -> _Rules:
        """The rules in evaluation order and the threats they read, made once per
        configuration the cache hands out (the same object until it is read again), not for
        every message."""
        made = self._rules.get((tenant_id, direction))
        if made is not None and made.config is config:
            return made
        rules = tuple(config.policies.in_evaluation_order(direction))
        if direction is Direction.INBOUND:
            rules = (*config.domain_auth.rules(), *rules)
        made = _Rules(
            config,
            rules,
            threats_read(rules, direction),
            threats_read(rules, direction, spam_exempt=True),
        )
        self._rules[(tenant_id, direction)] = made
        return made

    def run(self, job: ScanJob, last_attempt: bool = True) -> None:
        """``last_attempt``: an engine that gives no verdict no longer delays the message; the
        catalog's engine-failure rule applies instead. Before it, a job is retried only when a
        rule met an engine failure that asking again may cure."""
        statuses = self._tracking.statuses(job.tenant_id, job.message_uuid, job.recipients)
        settled = FINAL_STATUSES if job.released_by else FINAL_STATUSES | {Status.QUARANTINED}
        missing = _missing(job, statuses)
        if not missing and all(status in settled for status in statuses.values()):
            return
        raw = self._mail.get(job.mail_key)
        message = parse(raw, self._limits)
        config = self._configs(job.tenant_id)
        envelope = Envelope(
            tenant_id=job.tenant_id,
            direction=job.direction,
            sender=job.sender,
            recipients=tuple(job.recipients),
            client_ip=job.sender_ip,
            helo=job.helo,
        )
        rules = self._rules_of(job.tenant_id, config, job.direction)
        exempt = spam_exemption(config, job, message)
        needed = rules.read_when_exempt if exempt else rules.read
        evidence = collect(self._producers, raw, message, envelope, needed)
        decision = decide(
            rules.rules, evidence, resume_after=job.resume_after_rule, spam_exempt=exempt
        )
        if missing:  # nothing is written before the rows are there
            missing = self._rows_still_missing(job)
            if missing:
                self._write_missing_rows(job, raw, missing)
        if decision.retryable and not last_attempt:
            raise EnginesUnavailable("; ".join(sorted(set(decision.retryable))))
        self._applier.apply(job, message, raw, decision)

    def _rows_still_missing(self, job: ScanJob) -> list[str]:
        fresh = utcnow() - job.received_at < timedelta(seconds=ROWS_RECHECK_S)
        until = time.monotonic() + (ROWS_WAIT_S if fresh else 0.0)
        while True:
            statuses = self._tracking.statuses(job.tenant_id, job.message_uuid, job.recipients)
            missing = _missing(job, statuses)
            if not missing or time.monotonic() + ROWS_POLL_S > until:
                return missing
            time.sleep(ROWS_POLL_S)

    def _write_missing_rows(self, job: ScanJob, raw: bytes, recipients: list[str]) -> None:
        waited = utcnow() - job.received_at
        if waited < self._rows_grace:
            early = waited < timedelta(seconds=ROWS_RECHECK_S)
            remaining = (self._rows_grace - waited).total_seconds()
            raise RowsNotWritten(ROWS_RECHECK_S if early else max(1, round(remaining)))
        peer = Peer(job.direction, job.sender_ip, job.helo, job.upstream_tls)
        summary = summarize(raw)
        note = "rows written by scan: the front stopped before writing them"
        event = TimelineEvent.received(peer, job.received_at, note)
        for recipient in recipients:
            row = TrackingRow.accepted(
                peer,
                tenant_id=job.tenant_id,
                message_uuid=job.message_uuid,
                recipient=recipient,
                time=job.received_at,
                sender=job.sender,
                size=len(raw),
                mail_key=job.mail_key,
                summary=summary,
            )
            self._tracking.add_once(row, [event])
