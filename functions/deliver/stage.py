"""Stage 3: deliver each recipient, record its outcome, schedule retries.

Inbound mail goes to the inbound servers of the recipient's managed domain; outbound mail to
the MX of the recipient's domain. 2xx → ``delivered``; 5xx → ``bounced``; 4xx or no connection
→ ``temporary_error`` and a new job after the retry delay, until the queue lifetime ends
(``expired``). Recipients whose row is already final are skipped, so a repeated job is harmless.
Each attempt (one per route, or per recipient without one) is logged on one line.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta

from functions.deliver.smtp_client import Attempt, Reply
from mailgate import dns
from mailgate.catalog import FINAL_STATUSES, Direction, Status
from mailgate.clock import utcnow
from mailgate.jobs import DeliverJob
from mailgate.observability import logger
from mailgate.ports import Domains, Jobs, Mail, Tracking
from mailgate.records import TimelineEvent
from mailgate.tenant_config import MailServer

Sender = Callable[[list[MailServer], str, list[str], bytes], Attempt]
Resolver = Callable[[str], list[MailServer]]


class DeliverStage:
    def __init__(
        self,
        tracking: Tracking,
        tenants: Domains,
        mail: Mail,
        queue: Jobs,
        send: Sender,
        resolve_mx: Resolver,
        retry_schedule_s: list[int],
        queue_lifetime_s: int,
    ) -> None:
        self._tracking = tracking
        self._tenants = tenants
        self._mail = mail
        self._queue = queue
        self._send = send
        self._resolve_mx = resolve_mx
        self._retry_schedule_s = retry_schedule_s
        self._lifetime = timedelta(seconds=queue_lifetime_s)

    def run(self, job: DeliverJob) -> None:
        now = utcnow()
        if job.not_before and job.not_before > now:
            self._queue.send(job, delay_s=int((job.not_before - now).total_seconds()) + 1)
            return
        statuses = self._tracking.statuses(job.tenant_id, job.message_uuid, job.recipients)
        pending = [r for r in job.recipients if statuses.get(r.lower()) not in FINAL_STATUSES]
        if not pending:
            return
        raw = self._mail.get(job.mail_key)
        outcomes: dict[str, tuple[Reply, Attempt | None]] = {}
        routes = self._routes(job, pending, outcomes)
        for reply, _ in outcomes.values():  # no route: no connection was tried
            _log_attempt(job, [reply], None, len(raw), time.perf_counter())
        for servers, recipients in routes.items():
            started = time.perf_counter()
            sent = self._send(list(servers), job.sender, recipients, raw)
            _log_attempt(job, [sent.replies[r] for r in recipients], sent, len(raw), started)
            for recipient in recipients:
                outcomes[recipient] = (sent.replies[recipient], sent)
        self._retry_later(job, [r for r, (reply, _) in outcomes.items() if _retryable(reply)])
        for recipient, (reply, attempt) in outcomes.items():
            self._record(job, recipient, reply, attempt)

    def _routes(
        self,
        job: DeliverJob,
        recipients: list[str],
        outcomes: dict[str, tuple[Reply, Attempt | None]],
    ) -> dict[tuple[MailServer, ...], list[str]]:
        """Group recipients by the servers they go to; a recipient with no route gets its
        failure reply in ``outcomes`` instead."""
        routes: dict[tuple[MailServer, ...], list[str]] = defaultdict(list)
        for recipient in recipients:
            domain = recipient.rpartition("@")[2].lower()
            try:
                servers = self._servers(job.direction, domain)
            except dns.DomainNotFound as error:
                outcomes[recipient] = (Reply(550, f"5.1.2 {error}"), None)
                continue
            except dns.DnsUnavailable as error:
                outcomes[recipient] = (Reply(451, f"4.4.3 {error}"), None)
                continue
            routes[tuple(servers)].append(recipient)
        return routes

    def _servers(self, direction: Direction, domain: str) -> list[MailServer]:
        if direction is Direction.OUTBOUND:
            return self._resolve_mx(domain)
        managed = self._tenants.domain(domain)
        if managed is None or not managed.inbound_servers:
            raise dns.DomainNotFound(f"{domain} has no inbound server configured")
        return managed.inbound_servers

    def _retry_later(self, job: DeliverJob, recipients: list[str]) -> None:
        if not recipients or self._expired(job):
            return
        index = min(job.attempt - 1, len(self._retry_schedule_s) - 1)
        delay = self._retry_schedule_s[index]
        retry = job.model_copy(
            update={
                "recipients": recipients,
                "attempt": job.attempt + 1,
                "not_before": utcnow() + timedelta(seconds=delay),
            }
        )
        self._queue.send(retry, delay_s=delay)

    def _expired(self, job: DeliverJob) -> bool:
        return utcnow() - job.received_at >= self._lifetime

    def _record(
        self, job: DeliverJob, recipient: str, reply: Reply, attempt: Attempt | None
    ) -> None:
        if reply.accepted:
            status, event = Status.DELIVERED, "delivered"
        elif reply.permanent:
            status, event = Status.BOUNCED, "bounced"
        elif self._expired(job):
            status, event = Status.EXPIRED, "expired"
        else:
            status, event = Status.TEMPORARY_ERROR, "deferred"
        fields = {"downstream_reply": str(reply)}
        if attempt is not None and attempt.peer_ip:
            fields["downstream_tls"] = attempt.tls
            if reply.accepted:
                fields["delivered_to"] = attempt.peer_ip
        now = utcnow()
        peer = f" by {attempt.peer_ip}" if attempt is not None and attempt.peer_ip else ""
        self._tracking.record(
            job.tenant_id,
            job.message_uuid,
            TimelineEvent(
                time=now,
                event_id=f"3-attempt-{job.attempt:03d}-{recipient.lower()}",
                stage="deliver",
                event=event,
                recipient=recipient,
                detail=f"attempt {job.attempt}: {reply}{peer}",
            ),
        )
        self._tracking.set_status(job.tenant_id, job.message_uuid, recipient, status, **fields)


def _retryable(reply: Reply) -> bool:
    return not reply.accepted and not reply.permanent


def _log_attempt(
    job: DeliverJob, replies: list[Reply], attempt: Attempt | None, size: int, started: float
) -> None:
    """One line per attempt: envelope facts and the replies, never the content."""
    line: dict[str, object] = {
        "tenant": job.tenant_id,
        "message_uuid": job.message_uuid,
        "attempt": job.attempt,
        "direction": job.direction.value,
        "client_ip": job.sender_ip,
        "sender": job.sender or "<>",
        "recipients": len(replies),
        "size": size,
        "server": attempt.peer_ip if attempt is not None and attempt.peer_ip else None,
        "tls": attempt.tls if attempt is not None and attempt.peer_ip else None,
        "reply": " | ".join(dict.fromkeys(str(reply) for reply in replies)),
        "delivered": sum(reply.accepted for reply in replies),
        "bounced": sum(reply.permanent for reply in replies),
        "deferred": sum(_retryable(reply) for reply in replies),
        "duration_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    logger.info("delivery attempt", extra=line)
