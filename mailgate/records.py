"""Tracking rows and timeline events (what is stored per message and recipient), and export
tasks."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field

from mailgate.catalog import Direction, ExportStatus, Locale, Status, TrackingType

if TYPE_CHECKING:
    from mailgate.message_summary import Summary
    from mailgate.peer import Peer

# A conditional write only moves a row forward: a late or retried step never overwrites a
# later status (a retried "processing" must not undo "delivered").
STATUS_RANK: dict[Status, int] = {
    Status.PROCESSING: 0,
    Status.SANDBOX: 1,
    Status.PASSWORD_ANALYSIS: 1,
    Status.TEMPORARY_ERROR: 2,
    Status.QUARANTINED: 2,
    Status.DELIVERED: 3,
    Status.BOUNCED: 3,
    Status.EXPIRED: 3,
    Status.DELETED: 3,
    Status.REDIRECTED: 3,
    # Not a step forward: the job that would move the row sits in a dead-letter queue, and
    # once redriven any later status may follow (mailgate.storage.tracking.dead_letter).
    Status.DEAD_LETTERED: 0,
}
# Statuses that may be written again over themselves (each retry updates the row).
REPEATABLE = frozenset({Status.TEMPORARY_ERROR})
ExportLog = Literal["tracking", "events"]


def kilobytes(size: int) -> float:
    """A size in bytes as the logs show it: KB with up to two decimals."""
    return round(size / 1024, 2)


class AttachmentStatus(StrEnum):
    NONE = "none"
    DELETED = "deleted"
    CLEANED = "cleaned"
    SANITIZED = "sanitized"


class PasswordAnalysis(StrEnum):
    NOT_ANALYZED = "not_analyzed"
    DECRYPTED = "decrypted"
    NOT_DECRYPTED = "not_decrypted"


class AttachmentRecord(BaseModel):
    """An attachment as the tracking detail shows it (seed 000)."""

    name: str
    sha256: str
    size: int = 0
    status: AttachmentStatus = AttachmentStatus.NONE
    password_protected: bool = False
    password_analysis: PasswordAnalysis = PasswordAnalysis.NOT_ANALYZED


class TrackingRow(BaseModel):
    """One envelope recipient of one message, accepted or blocked."""

    tenant_id: str
    message_uuid: str
    recipient: str
    time: datetime
    direction: Direction
    type: TrackingType = TrackingType.ACCEPTED
    sender: str
    sender_ip: str
    helo: str = ""
    upstream_tls: str = "none"
    status: Status | None = Status.PROCESSING
    block_reason: str | None = None
    subject: str = ""
    header_from: list[str] = Field(default_factory=list)
    header_to: list[str] = Field(default_factory=list)
    reply_to: list[str] = Field(default_factory=list)
    message_id: str = ""
    # The Message-ID of the message this one was written about (a rule notification, a
    # delivery status notification), so related messages find each other: "" for others.
    refers_to: str = ""
    size: int = 0
    delivered_to: str = ""
    downstream_tls: str = ""
    downstream_reply: str = ""
    downstream_server: str = ""  # the name of the server of the last delivery attempt
    downstream_cipher: str = ""
    downstream_dane: str = ""  # "yes" / "no" once a delivery attempt was made
    downstream_mta_sts: str = ""
    next_attempt_at: datetime | None = None  # while in temporary_error
    dead_letter_reason: str = ""  # while dead_lettered: why the stage's job failed
    smtp_reply: str = ""  # what the front answered when it refused the message
    mail_key: str = ""
    attachments: list[AttachmentRecord] = Field(default_factory=list)

    @property
    def size_kb(self) -> float:
        return kilobytes(self.size)

    @classmethod
    def accepted(
        cls,
        peer: Peer,
        *,
        tenant_id: str,
        message_uuid: str,
        recipient: str,
        time: datetime,
        sender: str,
        size: int,
        mail_key: str,
        summary: Summary,
    ) -> TrackingRow:
        """A recipient of a message the front answered "250", still ``processing``."""
        return cls(
            tenant_id=tenant_id,
            message_uuid=message_uuid,
            recipient=recipient,
            time=time,
            direction=peer.direction,
            sender=sender,
            sender_ip=peer.ip,
            helo=peer.helo,
            upstream_tls=peer.tls,
            size=size,
            mail_key=mail_key,
            **summary.model_dump(),
        )

    @classmethod
    def blocked(
        cls,
        peer: Peer,
        *,
        tenant_id: str,
        message_uuid: str,
        recipient: str,
        time: datetime,
        sender: str,
        size: int,
        reason: str,
        reply: str,
    ) -> TrackingRow:
        """A recipient the front refused, with the reason and the reply it gave."""
        return cls(
            tenant_id=tenant_id,
            message_uuid=message_uuid,
            recipient=recipient,
            time=time,
            direction=peer.direction,
            type=TrackingType.BLOCKED,
            sender=sender,
            sender_ip=peer.ip,
            helo=peer.helo,
            upstream_tls=peer.tls,
            status=None,
            block_reason=reason,
            size=size,
            smtp_reply=reply,
        )


class TimelineEvent(BaseModel):
    """One step in a message's life; append-only, keyed so a retried step writes it once."""

    time: datetime
    event_id: str
    stage: str
    event: str
    recipient: str = ""
    detail: str = ""
    # Stage 2: the check or rule this event reports, and its result ("no_match", "no_verdict"
    # or the action taken); the tracking detail's evaluated policies are these events.
    rule: str = ""
    result: str = ""
    # A delivery attempt's facts: the server that answered (name and IP), the TLS of the
    # session, the reply, and when the next attempt is due if it was deferred.
    server: str = ""
    ip: str = ""
    tls: str = ""
    cipher: str = ""
    reply: str = ""
    next_attempt_at: datetime | None = None
    dane: str = ""  # "yes" / "no": the session was authenticated by DANE
    mta_sts: str = ""  # "yes" / "no": the session satisfied the domain's MTA-STS policy

    @classmethod
    def received(cls, peer: Peer, time: datetime, note: str = "") -> TimelineEvent:
        detail = f"from {peer.ip} ({peer.helo or 'no HELO'})"
        return cls(
            time=time,
            event_id="0-received",
            stage="receive",
            event="received",
            detail=f"{detail}; {note}" if note else detail,
        )


class PolicyPass(BaseModel):
    """One stage-2 pass over a message: the rules it evaluated, in order, as (rule name,
    result, note), and the administrator who released the message when the pass is a release.
    Stored as one item however many rules ran (an item per rule cost a write each, more than
    the pass itself), and read as the timeline events it stands for, one per rule."""

    time: datetime
    pass_id: str  # "first", or "after-<rule id>": the release after a quarantining rule
    released_by: str = ""
    results: list[tuple[str, str, str]] = Field(default_factory=list)

    @property
    def event_id(self) -> str:
        """The prefix of its events' ids, and its own."""
        return f"2-{self.pass_id}"

    def events(self) -> list[TimelineEvent]:
        def event(
            number: int, name: str, detail: str, rule: str = "", result: str = ""
        ) -> TimelineEvent:
            return TimelineEvent(
                time=self.time,
                event_id=f"{self.event_id}-{number:03d}",
                stage="scan",
                event=name,
                detail=detail,
                rule=rule,
                result=result,
            )

        events: list[TimelineEvent] = []
        if self.released_by:
            detail = f"released from quarantine by administrator {self.released_by}"
            events.append(event(0, "released", detail))
        for number, (rule, result, note) in enumerate(self.results, start=1):
            detail = f"{rule}: {result} ({note})" if note else f"{rule}: {result}"
            events.append(event(number, "policy", detail, rule, result))
        if not self.results and not self.released_by:
            events.append(event(1, "scanned", "no policy rule applies to this message"))
        return events


class ExportTaskRecord(BaseModel):
    """An "export all" task as stored: what to export, how, and how it went."""

    tenant_id: str
    task_id: str
    created_at: datetime
    status: ExportStatus = ExportStatus.PROCESSING
    log: ExportLog = "tracking"
    type: TrackingType = TrackingType.ACCEPTED  # of tracking exports
    format: str
    file_name: str  # "<uuid4>.csv.zip": the object's name and the downloaded file's
    object_key: str
    quota_day: date  # the UTC day whose quota it took
    expires_at: datetime  # the file is deleted then, and the task forgotten
    rows: int | None = None
    rows_written: int = 0  # so far, while processing: the progress of a client's bar
    truncated: bool = False  # more rows matched than an export may hold
    reason: str | None = None  # why it failed
    notify: str | None = None  # an address of the tenant's domains, told when it is finished
    locale: Locale = "en"  # of the notice
