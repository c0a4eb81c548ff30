"""Stage 3: deliver each recipient, record its outcome, schedule retries.

Recipients are grouped per destination (see ``routing``), one SMTP transaction each. 2xx →
``delivered``; 5xx → ``bounced``; 4xx or no connection → ``temporary_error`` and a new job after
the retry delay, until the queue lifetime ends (``expired``), with an optional delay warning to
the sender once a recipient has waited ``delay_warning_s``. Recipients whose row is already
final are skipped, so a repeated job is harmless. Each attempt is one timeline event per
recipient (server name and IP, TLS, the reply, the next attempt's time) and one log line.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from functions.deliver import dsn, routing, tls_policy
from functions.deliver.authentication import Authentication
from functions.deliver.dnssec import Bogus
from functions.deliver.routing import Destination, MxLookup, Server
from functions.deliver.smtp_client import Attempt, Reply
from functions.deliver.tls_policy import TlsPolicy
from mailgate import dns
from mailgate.catalog import FINAL_STATUSES, Status
from mailgate.clock import iso, utcnow
from mailgate.jobs import DeliverJob
from mailgate.message_summary import summarize
from mailgate.observability import logger
from mailgate.origination import Originated, Originator
from mailgate.ports import Domains, Jobs, Mail, TenantConfigs, Tracking
from mailgate.records import TimelineEvent

Sender = Callable[[list[Server], str, list[str], bytes, TlsPolicy], Attempt]
Authenticate = Callable[[str, list[Server]], Authentication]


@dataclass(frozen=True)
class Outcome:
    reply: Reply
    attempt: Attempt | None = None  # None: no server was tried


class DeliverStage:
    def __init__(
        self,
        tracking: Tracking,
        tenants: Domains,
        configs: TenantConfigs,
        mail: Mail,
        queue: Jobs,
        send: Sender,
        lookup_mx: MxLookup,
        retry_schedule_s: list[int],
        queue_lifetime_s: int,
        hostname: str,
        claim_s: int,
        originator: Originator,
        authenticate: Authenticate | None = None,
        delay_warning_s: int | None = None,
    ) -> None:
        self._tracking = tracking
        self._tenants = tenants
        self._configs = configs
        self._mail = mail
        self._queue = queue
        self._send = send
        self._lookup_mx = lookup_mx
        self._retry_schedule_s = retry_schedule_s
        self._lifetime = timedelta(seconds=queue_lifetime_s)
        self._hostname = hostname
        self._claim = timedelta(seconds=claim_s)
        self._originator = originator
        self._authenticate = authenticate
        self._delay_warning = (
            None if delay_warning_s is None else timedelta(seconds=delay_warning_s)
        )

    def run(self, job: DeliverJob) -> None:
        now = utcnow()
        if job.not_before and job.not_before > now:
            self._queue.send(job, delay_s=int((job.not_before - now).total_seconds()) + 1)
            return
        statuses = self._tracking.statuses(job.tenant_id, job.message_uuid, job.recipients)
        unfinished = [r for r in job.recipients if statuses.get(r.lower()) not in FINAL_STATUSES]
        # A duplicate of this job running now holds its recipients' claims: skip them. A run
        # that died leaves its claim to lapse after the longest a run can last.
        until = now + self._claim
        pending = [
            r
            for r in unfinished
            if self._tracking.claim(job.tenant_id, job.message_uuid, r, now, until)
        ]
        claimed = [r for r in unfinished if r not in pending]
        if claimed:
            # Held by a run going on now, or by one that died: look again once the claim has
            # lapsed (then the rows are final, or the claim is free), so no recipient is left
            # without a job that will move it.
            later = job.model_copy(update={"recipients": claimed, "not_before": until})
            self._queue.send(later, delay_s=int(self._claim.total_seconds()))
        if not pending:
            return
        try:
            self._deliver(job, pending)
        except Exception:
            # A run that raises gives its claims back (a recorded outcome already did), so the
            # job received again runs at once instead of waiting for them to lapse.
            for recipient in pending:
                self._tracking.release(job.tenant_id, job.message_uuid, recipient, until)
            raise

    def _deliver(self, job: DeliverJob, pending: list[str]) -> None:
        raw = self._mail.get(job.mail_key)
        outcomes: dict[str, Outcome] = {}
        groups = self._destinations(job, pending, outcomes)
        for outcome in outcomes.values():  # no destination: no connection was tried
            _log_attempt(job, [outcome.reply], None, len(raw), time.perf_counter())
        peers = self._configs.get(job.tenant_id)[0].outbound_tls_peers if groups else []
        for destination, recipients in groups.items():
            started = time.perf_counter()
            policy = tls_policy.for_domain(peers, destination.domain)
            try:
                policy = self._secured(destination, policy)
            except (Bogus, dns.DnsUnavailable) as error:
                for recipient in recipients:
                    outcomes[recipient] = Outcome(Reply(451, f"4.7.5 {error}"))
                _log_attempt(job, [Reply(451, str(error))], None, len(raw), started)
                continue
            sent = self._send(list(destination.servers), job.sender, recipients, raw, policy)
            _log_attempt(job, [sent.replies[r] for r in recipients], sent, len(raw), started)
            for recipient in recipients:
                outcomes[recipient] = Outcome(sent.replies[recipient], sent)
        retry_at = self._retry_later(
            job, [r for r, outcome in outcomes.items() if _retryable(outcome.reply)]
        )
        for recipient, outcome in outcomes.items():
            self._record(job, recipient, outcome, retry_at, raw)

    def _destinations(
        self, job: DeliverJob, recipients: list[str], outcomes: dict[str, Outcome]
    ) -> dict[Destination, list[str]]:
        """Group recipients by destination; a recipient with none gets its failure reply in
        ``outcomes`` instead."""
        groups: dict[Destination, list[str]] = defaultdict(list)
        found: dict[str, Destination | Outcome] = {}
        for recipient in recipients:
            domain = recipient.rpartition("@")[2].lower()
            if domain not in found:
                found[domain] = self._destination(job, domain)
            match found[domain]:
                case Destination() as destination:
                    groups[destination].append(recipient)
                case Outcome() as failure:
                    outcomes[recipient] = failure
        return groups

    def _destination(self, job: DeliverJob, domain: str) -> Destination | Outcome:
        if job.deliver_to is not None:  # a stage-2 "deliver now" names the server
            return Destination(domain, tuple(routing.configured([job.deliver_to])))
        try:
            return routing.destination(
                job.tenant_id, job.direction, domain, self._tenants, self._lookup_mx
            )
        except dns.DomainNotFound as error:
            return Outcome(Reply(550, f"5.1.2 {error}"))
        except dns.DnsUnavailable as error:
            return Outcome(Reply(451, f"4.4.3 {error}"))

    def _secured(self, destination: Destination, policy: TlsPolicy) -> TlsPolicy:
        """DANE and MTA-STS apply to the recipient domain's MX hosts, not to configured
        servers."""
        if not destination.mx or self._authenticate is None:
            return policy
        checks = self._authenticate(destination.domain, list(destination.servers))
        return dataclasses.replace(policy, authentication=checks)

    def _retry_later(self, job: DeliverJob, recipients: list[str]) -> datetime | None:
        """Queue the next attempt for ``recipients``; returns when it is due."""
        if not recipients or self._expired(job):
            return None
        index = min(job.attempt - 1, len(self._retry_schedule_s) - 1)
        delay = self._retry_schedule_s[index]
        due = utcnow() + timedelta(seconds=delay)
        retry = job.model_copy(
            update={
                "recipients": recipients,
                "attempt": job.attempt + 1,
                "not_before": due,
                "delay_warned": job.delay_warned or self._warn_of_delay(job),
            }
        )
        self._queue.send(retry, delay_s=delay)
        return due

    def _expired(self, job: DeliverJob) -> bool:
        return utcnow() - job.received_at >= self._lifetime

    def _warn_of_delay(self, job: DeliverJob) -> bool:
        """Whether this attempt's deferred recipients get the delay warning: the first attempt
        at least ``delay_warning`` after the message was received (the retry job carries
        ``delay_warned`` on, so there is one per recipient)."""
        return (
            self._delay_warning is not None
            and not job.delay_warned
            and bool(job.sender)
            and utcnow() - job.received_at >= self._delay_warning
        )

    def _record(
        self,
        job: DeliverJob,
        recipient: str,
        outcome: Outcome,
        retry_at: datetime | None,
        raw: bytes,
    ) -> None:
        reply, attempt = outcome.reply, outcome.attempt
        next_at = None
        if reply.accepted:
            status, event = Status.DELIVERED, "delivered"
        elif reply.permanent:
            status, event = Status.BOUNCED, "bounced"
        elif retry_at is None:
            status, event = Status.EXPIRED, "expired"
        else:
            status, event, next_at = Status.TEMPORARY_ERROR, "deferred", retry_at
        fields: dict[str, Any] = {
            "downstream_reply": str(reply),
            "next_attempt_at": next_at,
            "claimed_until": "",
        }
        session = _session(attempt)
        if session is not None:
            fields.update(
                downstream_server=session.server,
                downstream_tls=session.tls,
                downstream_cipher=session.cipher,
                downstream_dane=session.dane or "no",
                downstream_mta_sts=session.mta_sts or "no",
            )
            if reply.accepted:
                fields["delivered_to"] = session.peer_ip
        self._tracking.record(
            job.tenant_id,
            job.message_uuid,
            TimelineEvent(
                time=utcnow(),
                event_id=f"3-attempt-{job.attempt:03d}-{recipient.lower()}",
                stage="deliver",
                event=event,
                recipient=recipient,
                detail=_detail(job, reply, session, next_at),
                server=session.server if session else "",
                ip=session.peer_ip if session else "",
                tls=session.tls if session else "",
                cipher=session.cipher if session else "",
                reply=str(reply),
                next_attempt_at=next_at,
                dane=(session.dane or "no") if session else "",
                mta_sts=(session.mta_sts or "no") if session else "",
            ),
        )
        remote = session.server if session else ""
        if status in (Status.BOUNCED, Status.EXPIRED) and job.sender:
            # Before the final status: a crash in between repeats the report, never loses it.
            self._report(job, raw, dsn.Failure(recipient, status, str(reply), remote))
        elif status is Status.TEMPORARY_ERROR and self._warn_of_delay(job):
            self._report(job, raw, dsn.Failure(recipient, status, str(reply), remote))
        self._tracking.set_status(job.tenant_id, job.message_uuid, recipient, status, **fields)

    def _report(self, job: DeliverJob, raw: bytes, failure: dsn.Failure) -> None:
        """The DSN to the sender: a new message of the tenant from ``<>``, tracked and
        delivered like any other. Its UUID comes from the recipient event, so a repeated step
        writes the same message and row once, and a repeated job finds the row final."""
        dsn_id = dsn.dsn_uuid(job.message_uuid, failure.recipient, failure.status)
        now = utcnow()
        content = dsn.build(
            raw,
            original_sender=job.sender,
            failure=failure,
            reporting_mta=self._hostname,
            received_at=job.received_at,
            now=now,
            dsn_id=dsn_id,
            retry_until=job.received_at + self._lifetime,
        )
        about = f"{failure.recipient} {failure.status.value}"
        self._originator.send(
            Originated(
                tenant_id=job.tenant_id,
                message_uuid=dsn_id,
                sender="",
                recipients=[job.sender],
                raw=content,
                cause=f"delivery status notification for message {job.message_uuid} ({about})",
                refers_to=summarize(raw).message_id,
            )
        )
        self._tracking.record(
            job.tenant_id,
            job.message_uuid,
            TimelineEvent(
                time=now,
                event_id=f"3-dsn-{failure.status.value}-{failure.recipient.lower()}",
                stage="deliver",
                event="dsn_sent",
                recipient=failure.recipient,
                detail=f"delivery status notification {dsn_id} to {job.sender}",
            ),
        )


def _session(attempt: Attempt | None) -> Attempt | None:
    """The attempt when a server answered, None when no connection was made."""
    return attempt if attempt is not None and attempt.peer_ip else None


def _detail(
    job: DeliverJob, reply: Reply, session: Attempt | None, next_at: datetime | None
) -> str:
    text = f"attempt {job.attempt}: {reply}"
    if session is not None:
        text += f" by {session.server} [{session.peer_ip}]"
        if session.tls != "none":
            text += f" over {session.tls} {session.cipher}".rstrip()
        if session.notes:
            text += "; " + "; ".join(session.notes)
    if next_at is not None:
        text += f"; next attempt at {iso(next_at)}"
    if reply.accepted and job.released_by:
        text += f"; delivered by administrator {job.released_by}"
    return text


def _retryable(reply: Reply) -> bool:
    return not reply.accepted and not reply.permanent


def _log_attempt(
    job: DeliverJob, replies: list[Reply], attempt: Attempt | None, size: int, started: float
) -> None:
    """One line per attempt: envelope facts and the replies, never the content."""
    session = _session(attempt)
    line: dict[str, object] = {
        "tenant": job.tenant_id,
        "message_uuid": job.message_uuid,
        "attempt": job.attempt,
        "direction": job.direction.value,
        "client_ip": job.sender_ip,
        "sender": job.sender or "<>",
        "recipients": len(replies),
        "size": size,
        "server": session.peer_ip if session else None,
        "server_name": session.server if session else None,
        "tls": session.tls if session else None,
        "reply": " | ".join(dict.fromkeys(str(reply) for reply in replies)),
        "delivered": sum(reply.accepted for reply in replies),
        "bounced": sum(reply.permanent for reply in replies),
        "deferred": sum(_retryable(reply) for reply in replies),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("delivery attempt", extra=line)
