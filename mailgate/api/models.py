"""Request and response models of the tenant API (they generate the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from mailgate.catalog import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    BlockReason,
    Direction,
    ExportStatus,
    Locale,
    Status,
    TrackingType,
)
from mailgate.export.cells import time_zone
from mailgate.export.formats import Format
from mailgate.tenant_config import TenantConfig

Preset = Literal["1h", "24h", "7d", "14d", "30d"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomPeriod(_Strict):
    start: AwareDatetime
    end: AwareDatetime


AddressFilter = Annotated[str, Field(min_length=1, max_length=320)]
TlsFilter = Literal["any", "none", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]
ACCEPTED_ONLY = ("statuses", "subject", "message_id")
BLOCKED_ONLY = ("block_reasons",)


class TrackingSearch(_Strict):
    direction: Direction = Direction.INBOUND
    type: TrackingType = TrackingType.ACCEPTED
    period: Preset | CustomPeriod = "24h"
    senders: list[AddressFilter] = Field(default_factory=list, max_length=100)
    recipients: list[AddressFilter] = Field(default_factory=list, max_length=100)
    sender_ip: str | None = Field(None, max_length=45, description="prefix, e.g. 203.0.113.")
    upstream_tls: TlsFilter = "any"
    statuses: list[Status] = Field(default_factory=list, description="accepted only")
    subject: str | None = Field(None, max_length=998, description="accepted only")
    message_id: str | None = Field(None, max_length=998, description="accepted only")
    block_reasons: list[BlockReason] = Field(default_factory=list, description="blocked only")
    sort: Literal["desc", "asc"] = "desc"
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=4096)

    @model_validator(mode="after")
    def _fields_of_the_type(self) -> TrackingSearch:
        other = BLOCKED_ONLY if self.type is TrackingType.ACCEPTED else ACCEPTED_ONLY
        for name in other:
            if getattr(self, name):
                raise ValueError(f"{name} does not apply to {self.type} traffic")
        return self


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


class TrackingPage(BaseModel):
    items: list[AcceptedItem | BlockedItem]
    next_cursor: str | None


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
    status: Status
    time: str | None = None
    ip: str | None = None
    tls: str | None = None
    reply: str | None = None
    undelivered: bool


class Event(BaseModel):
    time: str
    stage: str
    event: str
    recipient: str
    detail: str


class Processing(BaseModel):
    received: Received
    evaluated_policies: list[dict[str, str]]
    delivery: Delivery


class TrackingDetail(BaseModel):
    message_uuid: str
    summary: Summary
    processing: Processing
    attachments: list[dict[str, str]]
    events: list[Event]


class SelectedRow(_Strict):
    message_uuid: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9-]+$")
    recipient: AddressFilter


EVENTS_NOT_AVAILABLE = (
    'Policy-event exports (log "events") are not available yet; export mail tracking '
    '(log "tracking") for now.'
)


class ExportRequest(_Strict):
    log: Literal["tracking", "events"] = "tracking"
    query: TrackingSearch = Field(
        default_factory=TrackingSearch,
        description="the search whose rows are exported; its limit and cursor are not used",
    )
    select: list[SelectedRow] | None = Field(
        None,
        min_length=1,
        max_length=MAX_PAGE_SIZE,
        description="rows to export at once (answered 200 with the file); null: export all "
        "the query finds (202, an export task)",
    )
    locale: Locale = "en"
    time_zone: str = Field("UTC", max_length=64, description="IANA name, e.g. Asia/Tokyo")
    format: Format = Format.CSV

    @model_validator(mode="before")
    @classmethod
    def _events_later(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("log") == "events":
            raise ValueError(EVENTS_NOT_AVAILABLE)
        return data

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
