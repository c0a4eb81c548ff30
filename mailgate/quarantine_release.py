"""Releasing one quarantined message: the entry moves ``quarantined`` → ``releasing`` only if
it is still ``quarantined`` (of two releases at once only one wins), and only the release that
moved it queues the scan job that resumes stage 2 after the quarantining rule. Tenant admins
(the API) and operators (bulk re-delivery) release through this one path."""

from __future__ import annotations

from mailgate.api.models import QuarantineOutcome
from mailgate.clock import utcnow
from mailgate.jobs import ScanJob
from mailgate.observability import logger
from mailgate.policy.records import QuarantineEntry, QuarantineState
from mailgate.ports import Jobs, QuarantineIndex


def already(entry: QuarantineEntry | None) -> QuarantineOutcome:
    """The answer for a message found in no state to act on."""
    if entry is None:
        return "not_found"
    if entry.state is QuarantineState.DELETED:
        return "already_deleted"
    if entry.state in (QuarantineState.RELEASING, QuarantineState.RELEASED):
        return "already_released"
    return "failed"  # back in quarantine: a concurrent release could not be queued


def release(
    quarantine: QuarantineIndex,
    scan_queue: Jobs,
    tenant_id: str,
    message_uuid: str,
    released_by: str,
) -> QuarantineOutcome:
    """Release the message once; ``released_by`` is shown in its tracking detail."""
    entry = quarantine.entry(tenant_id, message_uuid)
    if entry is None or entry.state is not QuarantineState.QUARANTINED:
        return already(entry)
    if not quarantine.begin_release(tenant_id, message_uuid, released_by, utcnow()):
        return already(quarantine.entry(tenant_id, message_uuid))
    job = ScanJob(
        tenant_id=tenant_id,
        message_uuid=message_uuid,
        direction=entry.direction,
        mail_key=entry.mail_key,
        sender=entry.sender,
        recipients=entry.recipients,
        received_at=entry.received_at,
        sender_ip=entry.sender_ip,
        resume_after_rule=entry.rule_id,
        released_by=released_by,
    )
    try:
        scan_queue.send(job)
    except Exception:
        logger.exception("release not queued", extra={"message_uuid": message_uuid})
        quarantine.undo_release(tenant_id, message_uuid)
        return "failed"
    return "released"
