"""Request and response models of the tenant API (they generate the OpenAPI document)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails

from mailgate.catalog import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    THREAT_TYPES,
    BlockReason,
    Direction,
    ExportStatus,
    Locale,
    PolicyAction,
    Status,
    ThreatType,
    TrackingType,
)
from mailgate.config_fields import valid_domain
from mailgate.export.cells import time_zone
from mailgate.export.formats import Format
from mailgate.policy.records import QuarantineState
from mailgate.records import AttachmentRecord, AttachmentStatus, ExportLog, PasswordAnalysis
from mailgate.tenant_config import TenantConfig

Preset = Literal["1h", "24h", "7d", "14d", "30d"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomPeriod(_Strict):
    start: AwareDatetime
    end: AwareDatetime


AddressFilter = Annotated[str, Field(min_length=1, max_length=320)]
TlsFilter = Literal["any", "none", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
YesNoFilter = Literal["any", "yes", "no"]
AttachmentStatusFilter = AttachmentStatus | Literal["any"]
PasswordAnalysisFilter = PasswordAnalysis | Literal["any"]


def _sha256(value: str) -> str:
    if len(value) != 64 or any(c not in "0123456789abcdefABCDEF" for c in value):
        raise ValueError("a SHA-256 hash is 64 hexadecimal digits")
    return value.lower()


Sha256 = Annotated[str, AfterValidator(_sha256)]
ACCEPTED_ONLY = (
    "statuses",
    "header_from",
    "header_to",
    "subject",
    "message_id",
    "delivered_to",
    "downstream_tls",
    "downstream_dane",
    "downstream_mta_sts",
    "attachments_only",
    "attachment_sha256",
    "attachment_name",
    "attachment_status",
    "password_analysis",
)
OUTBOUND_ONLY = ("downstream_dane", "downstream_mta_sts")
BLOCKED_ONLY = ("block_reasons",)


class TrackingSearch(_Strict):
    direction: Direction = Direction.INBOUND
    type: TrackingType = TrackingType.ACCEPTED
    period: Preset | CustomPeriod = "24h"
    senders: list[AddressFilter] = Field(default_factory=list, max_length=100)
    recipients: list[AddressFilter] = Field(default_factory=list, max_length=100)
    header_from: list[AddressFilter] = Field(
        default_factory=list, max_length=100, description="accepted only: the From address"
    )
    header_to: list[AddressFilter] = Field(
        default_factory=list, max_length=100, description="accepted only: a To or Cc address"
    )
    sender_ip: str | None = Field(None, max_length=45, description="prefix, e.g. 203.0.113.")
    upstream_tls: TlsFilter = "any"
    statuses: list[Status] = Field(default_factory=list, description="accepted only")
    subject: str | None = Field(None, max_length=998, description="accepted only")
    message_id: str | None = Field(None, max_length=998, description="accepted only")
    block_reasons: list[BlockReason] = Field(default_factory=list, description="blocked only")
    delivered_to: str | None = Field(
        None, max_length=45, description="accepted only: prefix of the IP delivered to"
    )
    downstream_tls: TlsFilter = Field("any", description="accepted only")
    downstream_dane: YesNoFilter = Field("any", description="outbound accepted only")
    downstream_mta_sts: YesNoFilter = Field("any", description="outbound accepted only")
    attachments_only: bool = Field(False, description="accepted only: messages with attachments")
    attachment_sha256: Sha256 | None = Field(
        None, description="accepted only: an attachment with this SHA-256 (64 hex digits)"
    )
    attachment_name: str | None = Field(
        None,
        min_length=1,
        max_length=255,
        description='accepted only: an attachment name, "*" wildcards (*.zip)',
    )
    attachment_status: AttachmentStatusFilter = Field("any", description="accepted only")
    password_analysis: PasswordAnalysisFilter = Field("any", description="accepted only")
    sort: Literal["desc", "asc"] = "desc"
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=4096)

    @model_validator(mode="after")
    def _fields_of_the_type(self) -> TrackingSearch:
        other = BLOCKED_ONLY if self.type is TrackingType.ACCEPTED else ACCEPTED_ONLY
        for name in other:
            if getattr(self, name) not in (None, "any", [], "", False):
                raise ValueError(f"{name} does not apply to {self.type} traffic")
        if self.direction is Direction.INBOUND:
            for name in OUTBOUND_ONLY:
                if getattr(self, name) != "any":
                    raise ValueError(f"{name} applies to outbound traffic only")
        return self


class TrackingReconcile(_Strict):
    period: Preset | CustomPeriod = "24h"
    direction: Direction | None = Field(None, description="both directions when absent")


class ReconcilePeriod(BaseModel):
    start: str
    end: str


class Retrying(BaseModel):
    count: int
    next_attempt_soonest: str | None = Field(description="the soonest next try of these rows")
    next_attempt_latest: str | None = Field(description="the latest next try of these rows")


class UnaccountedRow(BaseModel):
    message_uuid: str
    recipient: str
    direction: Direction
    time: str
    status: Status
    why: str


class TrackingReconciliation(BaseModel):
    """Every accepted row of the period by where it stands; ``unaccounted`` is 0 for a healthy
    gateway."""

    period: ReconcilePeriod
    accepted: int = Field(description="accepted rows read")
    final: dict[Status, int] = Field(description="rows with a final status, per status")
    retrying: Retrying = Field(description="temporary_error rows whose next try is coming")
    dead_lettered: int = Field(description="rows whose job waits in a dead-letter queue")
    held: dict[Status, int] = Field(description="quarantined (or under analysis), per status")
    in_flight: int = Field(description="processing rows whose job is still alive")
    unaccounted: int = Field(description="rows that are none of these")
    unaccounted_rows: list[UnaccountedRow] = Field(description="at most 1000 of them")
    truncated: bool = Field(description="the period has more rows than one answer reads")


class _TrackingItem(BaseModel):
    message_uuid: str
    time: str
    direction: Direction
    sender: str
    recipient: str
    sender_ip: str
    upstream_tls: str


class AcceptedItem(_TrackingItem):
    type: Literal[TrackingType.ACCEPTED] = TrackingType.ACCEPTED
    status: Status
    subject: str
    delivered_to: str
    downstream_tls: str
    size_kb: float
    message_id: str
    header_from: list[str]
    header_to: list[str]


class BlockedItem(_TrackingItem):
    type: Literal[TrackingType.BLOCKED] = TrackingType.BLOCKED
    block_reason: BlockReason
    reason: str = Field(description="the block reason's English label")
    smtp_reply: str = Field(description="what the gateway answered the sending server")


class Coverage(BaseModel):
    """What a search page covers."""

    as_of: str = Field(
        description="every record up to this instant (a message accepted or blocked, an event "
        "detected, a message quarantined) is in the search; a later one may not be yet"
    )
    searched_until: str | None = Field(
        None,
        description="set when a page stopped at its read budget before filling: every record "
        "later than this instant (earlier, for sort asc) was searched, none beyond it; "
        "next_cursor goes on from there",
    )


class TrackingPage(Coverage):
    items: list[AcceptedItem | BlockedItem]
    next_cursor: str | None


class RelatedRows(BaseModel):
    """The tenant's other rows that share the message's Message-ID, oldest first."""

    rows: list[AcceptedItem | BlockedItem]
    truncated: bool = Field(description="more rows share it than one answer holds (1,000)")


class Summary(BaseModel):
    time: str
    direction: Direction
    sender: str
    recipient: str
    header_from: list[str]
    header_to: list[str]
    reply_to: list[str]
    subject: str
    message_id: str
    size: int


class Received(BaseModel):
    time: str
    sender_ip: str
    helo: str
    tls: str


class Delivery(BaseModel):
    """The last delivery attempt."""

    status: Status
    time: str | None = None
    server: str | None = Field(None, description="the name of the server that answered")
    ip: str | None = None
    tls: str | None = None
    cipher: str | None = None
    reply: str | None = None
    next_attempt_at: str | None = Field(None, description="while the status is temporary_error")
    dane: str | None = Field(None, description="yes / no: the session was authenticated by DANE")
    mta_sts: str | None = Field(None, description="yes / no: the session met the MTA-STS policy")
    undelivered: bool


class Event(BaseModel):
    time: str
    stage: str
    event: str
    recipient: str
    detail: str
    server: str = Field("", description="delivery attempts: the server that answered")
    ip: str = ""
    tls: str = ""
    cipher: str = ""
    reply: str = Field("", description="delivery attempts: the downstream reply")
    next_attempt_at: str | None = Field(None, description="a deferred attempt: the next one")
    dane: str = Field("", description="delivery attempts: yes / no, authenticated by DANE")
    mta_sts: str = Field("", description="delivery attempts: yes / no, met the MTA-STS policy")


class EvaluatedPolicy(BaseModel):
    rule: str = Field(description="the check or rule that ran, in order")
    result: str = Field(
        description="no_match, no_verdict (no engine could decide; the reason is on the "
        "timeline), skipped (an approved sender or IP), or the intercept action taken"
    )


class Processing(BaseModel):
    received: Received
    evaluated_policies: list[EvaluatedPolicy]
    delivery: Delivery


class TrackingDetail(BaseModel):
    message_uuid: str
    summary: Summary
    processing: Processing
    attachments: list[AttachmentRecord]
    events: list[Event]


RuleName = Annotated[str, Field(min_length=1, max_length=256)]
Sort = Literal["desc", "asc"]
PageSize = Annotated[int, Field(ge=1, le=MAX_PAGE_SIZE)]
Cursor = Annotated[str | None, Field(max_length=4096)]


class ThreatFilter(_Strict):
    type: ThreatType
    subtypes: list[str] = Field(
        default_factory=list,
        max_length=20,
        description="subtypes or detection methods of this type (catalog.md); none: all",
    )

    @model_validator(mode="after")
    def _subtypes_of_the_type(self) -> ThreatFilter:
        info = THREAT_TYPES[self.type]
        known = {**info.subtypes, **info.methods}
        for subtype in self.subtypes:
            if subtype not in known:
                allowed = ", ".join(known) or "none"
                raise ValueError(
                    f"{subtype!r} is not a subtype or detection method of {self.type.value} "
                    f"(it has: {allowed})"
                )
        return self


class EventSearch(_Strict):
    direction: Direction = Direction.INBOUND
    period: Preset | CustomPeriod = "24h"
    senders: list[AddressFilter] = Field(default_factory=list, max_length=100)
    recipients: list[AddressFilter] = Field(default_factory=list, max_length=100)
    header_from: list[AddressFilter] = Field(default_factory=list, max_length=100)
    header_to: list[AddressFilter] = Field(default_factory=list, max_length=100)
    subject: str | None = Field(None, max_length=998)
    message_id: str | None = Field(None, max_length=998)
    rule_names: list[RuleName] = Field(default_factory=list, max_length=100)
    threats: list[ThreatFilter] = Field(default_factory=list, max_length=len(ThreatType))
    threat_name: str | None = Field(
        None, max_length=256, description="a part of the detection name, case-insensitive"
    )
    sort: Sort = "desc"
    limit: PageSize = DEFAULT_PAGE_SIZE
    cursor: Cursor = None


class EventItem(BaseModel):
    """One row of the policy event log: one message and one detection."""

    event_id: str
    time: str = Field(description="when stage 2 detected it")
    direction: Direction
    sender: str
    recipients: list[str]
    threat_type: ThreatType
    subtype: str
    detection_method: str
    threat_name: str
    action: PolicyAction
    subject: str
    message_id: str
    message_uuid: str
    rule_name: str


class EventPage(Coverage):
    items: list[EventItem]
    next_cursor: str | None


class EventDetail(EventItem):
    received_at: str
    header_from: list[str]
    header_to: list[str]
    size: int
    domain: str
    violating_file: str
    violating_url: str
    details: dict[str, str] = Field(
        description="engine details: spam result and version strings, the keyword or DLP "
        "template that matched, why a scan was excluded"
    )
    cs1: str = Field(description="the CEF cs1 value of the threat type")


class QuarantineSearch(_Strict):
    direction: Direction = Direction.INBOUND
    period: Preset | CustomPeriod = "24h"
    senders: list[AddressFilter] = Field(default_factory=list, max_length=100)
    recipients: list[AddressFilter] = Field(default_factory=list, max_length=100)
    subject: str | None = Field(None, max_length=998)
    reasons: list[ThreatType] = Field(
        default_factory=list, description="the threat types that quarantined the message"
    )
    rule_names: list[RuleName] = Field(default_factory=list, max_length=100)
    sort: Sort = "desc"
    limit: PageSize = DEFAULT_PAGE_SIZE
    cursor: Cursor = None


class QuarantineItem(BaseModel):
    message_uuid: str
    time: str = Field(description="when it was quarantined")
    received_at: str
    direction: Direction
    sender: str
    recipients: list[str]
    subject: str
    reason: ThreatType
    subtype: str = Field(description="the detection's threat subtype (catalog.md), if it had one")
    rule_name: str
    size: int
    state: QuarantineState


class QuarantinePage(Coverage):
    items: list[QuarantineItem]
    next_cursor: str | None


class QuarantineDetail(QuarantineItem):
    sender_ip: str
    header_from: list[str]
    header_to: list[str]
    message_id: str
    released_by: str
    released_at: str | None
    deleted_by: str
    deleted_at: str | None


MAX_LISTED_MESSAGES = 1000
MAX_BULK_MESSAGES = 10_000
MessageUuid = Annotated[str, Field(min_length=1, max_length=64)]


class QuarantineAction(_Strict):
    """The messages to release or delete: listed, or every quarantined message a search
    selects (at most 10,000 per call; the answer says how many remain)."""

    message_uuids: list[MessageUuid] | None = Field(
        None, min_length=1, max_length=MAX_LISTED_MESSAGES
    )
    query: QuarantineSearch | None = Field(
        None, description="a quarantine search body; its limit does not apply here"
    )

    @model_validator(mode="after")
    def _one_way(self) -> QuarantineAction:
        if (self.message_uuids is None) == (self.query is None):
            raise ValueError("give either message_uuids or query")
        return self


QuarantineOutcome = Literal[
    "released", "deleted", "not_found", "already_released", "already_deleted", "failed"
]


class QuarantineResult(BaseModel):
    message_uuid: str
    result: QuarantineOutcome


class QuarantineReport(BaseModel):
    results: list[QuarantineResult]
    remaining: int = Field(
        description="messages the query still selects after this call (those that failed "
        "included), counted up to 10,000; call again to go on. 0 for a list."
    )
    remaining_more: bool = Field(description="more than `remaining` are left")


class SelectedRow(_Strict):
    message_uuid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    recipient: AddressFilter


EventId = Annotated[str, Field(min_length=1, max_length=256)]
_SEARCHES: dict[str, type[TrackingSearch] | type[EventSearch]] = {
    "tracking": TrackingSearch,
    "events": EventSearch,
}


def _within_query(error: ValidationError) -> ValidationError:
    """``error`` of the query's own model, as an error of the request's ``query`` field."""
    details: list[InitErrorDetails] = []
    for found in error.errors():
        detail: InitErrorDetails = {
            "type": found["type"],
            "loc": ("query", *found["loc"]),
            "input": found["input"],
        }
        if "ctx" in found:
            detail["ctx"] = found["ctx"]
        details.append(detail)
    return ValidationError.from_exception_data(error.title, details)


# A plain mailbox, local@domain: a dot-atom local part (no quotes, spaces, or line breaks that
# could reach a header of the notice) and a domain name.
_LOCAL_PART = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def _mailbox(value: str) -> str:
    local, at, domain = value.rpartition("@")
    if not at or len(local) > 64 or not _LOCAL_PART.fullmatch(local):
        raise ValueError(f"{value[:320]!r} is not an email address such as it@example.com")
    return f"{local}@{valid_domain(domain)}"


NotifyAddress = Annotated[str, Field(max_length=320), AfterValidator(_mailbox)]


class ExportRequest(_Strict):
    log: ExportLog = "tracking"
    query: TrackingSearch | EventSearch = Field(
        default_factory=TrackingSearch,
        description="the search whose rows are exported: a body of POST /v1/tracking/search "
        '(log "tracking") or of POST /v1/events/search (log "events"); its limit and cursor '
        "are not used",
    )
    select: list[SelectedRow] | list[EventId] | None = Field(
        None,
        min_length=1,
        max_length=MAX_PAGE_SIZE,
        description="rows to export at once (answered 200 with the file): message_uuid and "
        'recipient pairs (log "tracking") or event ids (log "events"); null: export all the '
        "query finds (202, an export task)",
    )
    locale: Locale = "en"
    time_zone: str = Field("UTC", max_length=64, description="IANA name, e.g. Asia/Tokyo")
    format: Format = Format.CSV
    notify: NotifyAddress | None = Field(
        None,
        description="with select null: an address of one of the tenant's domains that is sent "
        "a message with the console link when the task completes or fails",
    )

    @model_validator(mode="before")
    @classmethod
    def _query_of_the_log(cls, data: Any) -> Any:
        if not isinstance(data, dict) or data.get("log", "tracking") not in _SEARCHES:
            return data  # the field's own validation says what is wrong
        search = _SEARCHES[data.get("log", "tracking")]
        try:
            return data | {"query": search.model_validate(data.get("query", {}))}
        except ValidationError as error:
            raise _within_query(error) from None

    @model_validator(mode="after")
    def _select_of_the_log(self) -> ExportRequest:
        if self.select and (self.log == "events") != isinstance(self.select[0], str):
            wanted = "event ids" if self.log == "events" else "message_uuid and recipient pairs"
            raise ValueError(f'select holds {wanted} when log is "{self.log}"')
        if self.select and self.format is Format.PARQUET:
            raise ValueError('format "parquet" is for exports of all rows (select null)')
        if self.select and self.notify:
            raise ValueError("notify is for exports of all rows (select null)")
        return self

    @field_validator("time_zone")
    @classmethod
    def _iana(cls, name: str) -> str:
        time_zone(name)
        return name


class ExportStarted(BaseModel):
    task_id: str
    status: ExportStatus


class ExportTask(BaseModel):
    task_id: str
    created_at: str
    status: ExportStatus
    rows: int | None = Field(None, description="rows written, once complete")
    rows_written: int = Field(0, description="rows written so far (the progress while processing)")
    truncated: bool = Field(False, description="more rows matched than the 50,000 an export holds")
    file_name: str
    format: Format
    expires_at: str = Field(description="when the file is deleted")
    reason: str | None = Field(None, description="why the task failed")


class ExportTaskList(BaseModel):
    tasks: list[ExportTask]


class ExportTaskDetail(ExportTask):
    download_url: str | None = Field(
        None, description="once complete: a link to the file, valid 15 minutes"
    )


class ConfigDocument(_Strict):
    """A tenant's whole configuration and its version. ``GET /v1/config`` returns it; ``PUT
    /v1/config`` takes it back, with the version that was read (optimistic concurrency)."""

    version: int = Field(ge=0, description="Bumped by every write; 0 before the first.")
    config: TenantConfig


class ErrorDetail(BaseModel):
    code: str = Field(description="snake_case, stable: what went wrong")
    message: str = Field(description="one sentence a person can act on")


class ErrorBody(BaseModel):
    """The shape of every error answer (spec/api.md)."""

    error: ErrorDetail


def error_response(description: str) -> dict[str, Any]:
    """An error answer of a route, for the OpenAPI document."""
    return {"description": description, "content": {"application/json": {"model": ErrorBody}}}


class AuditItem(BaseModel):
    time: str
    actor: str = Field(description="the API key's name, or 'operator <name>'")
    actor_kind: Literal["api_key", "operator"]
    action: str = Field(description="e.g. quarantine.release, tracking.search, api_key.create")
    target: str
    ip: str
    details: dict[str, JsonValue]


class AuditPage(BaseModel):
    items: list[AuditItem]
    next_cursor: str | None


def _query_name(value: str) -> str:
    name = value.strip()
    if not name:
        raise ValueError("a saved query needs a name")
    if any(not char.isprintable() for char in name):
        raise ValueError("a query name is one line of printable text")
    return name


QueryName = Annotated[str, Field(min_length=1, max_length=100), AfterValidator(_query_name)]


class SaveQuery(_Strict):
    name: QueryName = Field(description="unique per tenant, whatever its case")
    body: TrackingSearch = Field(description="a tracking search request; its cursor is not kept")


class SavedQueryItem(BaseModel):
    name: str
    body: dict[str, JsonValue] = Field(
        description="the search request, without the fields left at their default"
    )
    saved_at: str


class RecentQueryItem(BaseModel):
    body: dict[str, JsonValue] = Field(description="the search request, as for a saved query")
    searched_at: str = Field(description="when it was last searched")


class SavedQueries(BaseModel):
    saved: list[SavedQueryItem] = Field(description="by name; at most 100 per tenant")
    recent: list[RecentQueryItem] = Field(description="the last 10 searches, newest first")
