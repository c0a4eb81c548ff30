"""Stage 2's only writer: turns the engine's decision into effects — the evaluated policies on
the timeline, policy events, the modified message, notifications and BCC copies, and the end of
the stage (deleted, quarantined, or a delivery job).

Every write is keyed by the message and the evaluation pass, so a scan that runs twice writes
each thing once; the status is written last, and a message whose rows are all final (or in
quarantine) is not scanned again.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from functions.scan import notices, rewrite
from functions.scan.evidence.mime.model import Message
from functions.scan.policy.conditions import Hit
from functions.scan.policy.engine import Decision, Detection
from mailgate.catalog import Direction, PolicyAction, Status, ThreatType
from mailgate.clock import utcnow
from mailgate.jobs import DeliverJob, ScanJob
from mailgate.message_summary import summarize
from mailgate.origination import Originated, Originator, derived_uuid
from mailgate.policy.records import PolicyEvent, QuarantineEntry
from mailgate.ports import Jobs, Mail, PolicyEvents, Quarantine, Tracking
from mailgate.records import (
    AttachmentRecord,
    AttachmentStatus,
    PolicyPass,
    TimelineEvent,
    TrackingRow,
)

STRIPPED_NOTICE = "An attachment of this message was removed by a security policy: {name}"
_END_STATUS = {PolicyAction.DELETE: Status.DELETED, PolicyAction.QUARANTINE: Status.QUARANTINED}


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _pass(job: ScanJob) -> str:
    """Names an evaluation pass: the first, or the release after a quarantining rule."""
    return "first" if job.resume_after_rule is None else f"after-{job.resume_after_rule}"


class Applier:
    def __init__(
        self,
        tracking: Tracking,
        mail: Mail,
        deliver_queue: Jobs,
        events: PolicyEvents,
        quarantine: Quarantine,
        originator: Originator,
    ) -> None:
        self._tracking = tracking
        self._mail = mail
        self._deliver_queue = deliver_queue
        self._events = events
        self._quarantine = quarantine
        self._originator = originator

    def apply(self, job: ScanJob, message: Message, raw: bytes, decision: Decision) -> None:
        now = utcnow()
        if job.resume_after_rule is None:
            self._annotate(job, message, decision)
        self._record_outcomes(job, decision, now)
        self._events.add(self._policy_events(job, message, decision, now))
        key, raw = self._modified(job, message, raw, decision)
        self._monitor(job, message, raw, decision)
        if decision.final in _END_STATUS:
            self._end(job, message, decision, key, now)
        else:
            self._deliver(job, decision, key, now)
        if job.released_by:
            self._quarantine.finish_release(job.tenant_id, job.message_uuid)

    def _annotate(self, job: ScanJob, message: Message, decision: Decision) -> None:
        if not message.attachments:
            return
        attachments = [
            AttachmentRecord(
                name=a.name,
                sha256=a.sha256,
                size=a.size,
                status=(
                    AttachmentStatus.DELETED if a.index in decision.strip else AttachmentStatus.NONE
                ),
                password_protected=a.password_protected,
            )
            for a in message.attachments
        ]
        for recipient in job.recipients:
            self._tracking.annotate(
                job.tenant_id, job.message_uuid, recipient, attachments=attachments
            )

    def _record_outcomes(self, job: ScanJob, decision: Decision, now: datetime) -> None:
        results = [(o.rule.name, o.result, o.note) for o in decision.outcomes]
        policy_pass = PolicyPass(
            time=now, pass_id=_pass(job), released_by=job.released_by or "", results=results
        )
        self._tracking.record_pass(job.tenant_id, job.message_uuid, policy_pass)

    def _policy_events(
        self, job: ScanJob, message: Message, decision: Decision, now: datetime
    ) -> list[PolicyEvent]:
        domain = domain_of(job.recipients[0] if job.direction is Direction.INBOUND else job.sender)
        return [
            _policy_event(job, message, detection, f"{_pass(job)}-{index:03d}", domain, now)
            for index, detection in enumerate(decision.detections, start=1)
        ]

    def _modified(
        self, job: ScanJob, message: Message, raw: bytes, decision: Decision
    ) -> tuple[str, bytes]:
        """The message after the modify actions, stored under its own key; the original key
        and bytes when nothing changed."""
        if not (decision.tags or decision.stamps or decision.strip or decision.headers):
            return job.mail_key, raw
        raw = rewrite.prepend_fields(raw, decision.headers)
        if decision.strip:
            names = ", ".join(a.name for a in message.attachments if a.index in decision.strip)
            raw = rewrite.strip_attachments(
                raw, decision.strip, STRIPPED_NOTICE.format(name=names or "(unnamed)")
            )
        for tag in decision.tags:
            raw = rewrite.tag_subject(raw, tag)
        for stamp in decision.stamps:
            raw = rewrite.insert_stamp(raw, stamp)
        key = f"{job.mail_key.removesuffix('.eml')}.{_pass(job)}.eml"
        self._mail.put(key, raw)
        return key, raw

    def _monitor(self, job: ScanJob, message: Message, raw: bytes, decision: Decision) -> None:
        if not (decision.notifications or decision.bcc):
            return
        domain = domain_of(job.recipients[0] if job.direction is Direction.INBOUND else job.sender)
        original_id = summarize(raw).message_id  # as the message's own rows hold it
        for index, (rule, notice) in enumerate(decision.notifications, start=1):
            to, notice_raw = notices.notification(
                notice,
                rule,
                sender=job.sender,
                envelope_recipients=job.recipients,
                message=message,
                from_domain=domain or "localhost",
            )
            if to:
                self._originate(
                    job, f"notify-{_pass(job)}-{index}", to, notice_raw, rule.name, original_id
                )
        if decision.bcc:
            self._originate(
                job, f"bcc-{_pass(job)}", decision.bcc, raw, "BCC", original_id, job.sender
            )

    def _originate(
        self,
        job: ScanJob,
        cause: str,
        recipients: list[str],
        raw: bytes,
        what: str,
        refers_to: str,
        sender: str = "",
    ) -> None:
        self._originator.send(
            Originated(
                tenant_id=job.tenant_id,
                message_uuid=derived_uuid(job.message_uuid, cause),
                sender=sender,
                recipients=recipients,
                raw=raw,
                cause=f"{what} for message {job.message_uuid}",
                refers_to=refers_to,
            )
        )

    def _end(
        self, job: ScanJob, message: Message, decision: Decision, key: str, now: datetime
    ) -> None:
        rule = decision.final_rule
        assert rule is not None  # the engine names the rule that ended the stage
        status = _END_STATUS[decision.final]
        if decision.final is PolicyAction.QUARANTINE:
            reason = _reason(decision, rule.id)
            self._quarantine.put(
                QuarantineEntry(
                    **_about(job, message, now),
                    sender_ip=job.sender_ip,
                    rule_id=rule.id,
                    rule_name=rule.name,
                    threat_type=reason.threat,
                    subtype=reason.subtype,
                    mail_key=key,
                )
            )
        for recipient in job.recipients:
            self._tracking.set_status(job.tenant_id, job.message_uuid, recipient, status)
        if decision.final is PolicyAction.DELETE:
            for stored in dict.fromkeys((job.mail_key, key)):
                self._mail.delete(stored)

    def _deliver(self, job: ScanJob, decision: Decision, key: str, now: datetime) -> None:
        recipients = decision.recipients
        if decision.redirected_by is not None:
            self._redirect(job, recipients, decision.redirected_by.name, now)
        fields = job.model_dump(exclude={"resume_after_rule", "recipients", "mail_key"})
        self._deliver_queue.send(
            DeliverJob(
                **fields, recipients=recipients, mail_key=key, deliver_to=decision.deliver_to
            )
        )

    def _redirect(self, job: ScanJob, recipients: list[str], rule: str, now: datetime) -> None:
        """The original recipients' rows end ``redirected``; each new recipient gets a row of
        its own that delivery then moves."""
        rows, _ = self._tracking.message(job.tenant_id, job.message_uuid)
        originals = {row.recipient.lower(): row for row in rows}
        if not originals:
            return
        template = next(iter(originals.values()))
        added: list[TrackingRow] = [
            template.model_copy(update={"recipient": r, "status": Status.PROCESSING})
            for r in recipients
            if r.lower() not in originals
        ]
        if added:
            self._tracking.add(added, [])
        new = {r.lower() for r in recipients}
        for original in job.recipients:
            if original.lower() in new:
                continue
            self._tracking.record(
                job.tenant_id,
                job.message_uuid,
                TimelineEvent(
                    time=now,
                    event_id=f"2-{_pass(job)}-redirect-{original.lower()}",
                    stage="scan",
                    event="redirected",
                    recipient=original,
                    detail=f"{rule}: recipient changed to {', '.join(recipients)}",
                ),
            )
            self._tracking.set_status(job.tenant_id, job.message_uuid, original, Status.REDIRECTED)


def _reason(decision: Decision, rule_id: str) -> Hit:
    """What the rule detected (its threat type and subtype)."""
    for detection in decision.detections:
        if detection.rule is not None and detection.rule.id == rule_id:
            return detection.hit
    return Hit(ThreatType.CONTENT, "")


def _about(job: ScanJob, message: Message, now: datetime) -> dict[str, Any]:
    """What a policy event and a quarantine entry both say about the message."""
    return {
        "tenant_id": job.tenant_id,
        "message_uuid": job.message_uuid,
        "time": now,
        "received_at": job.received_at,
        "direction": job.direction,
        "sender": job.sender,
        "recipients": job.recipients,
        "header_from": [box.shown() for box in message.from_],
        "header_to": [box.shown() for box in (*message.to, *message.cc)],
        "subject": message.subject,
        "message_id": message.message_id,
        "size": message.size,
    }


def _policy_event(
    job: ScanJob,
    message: Message,
    detection: Detection,
    suffix: str,
    domain: str,
    now: datetime,
) -> PolicyEvent:
    hit = detection.hit
    details = dict(hit.details)
    details.setdefault("reason", hit.what)
    return PolicyEvent(
        **_about(job, message, now),
        event_id=f"{job.message_uuid}-{suffix}",
        domain=domain,
        rule_id=detection.rule.id if detection.rule else "",
        rule_name=detection.rule.name if detection.rule else "",
        threat_type=hit.threat,
        subtype=hit.subtype,
        detection_method=hit.method,
        threat_name=hit.name,
        action=detection.action,
        violating_file=hit.file,
        violating_url=hit.url,
        details=details,
    )
