"""Request and response models of the tenant API (they generate the OpenAPI document)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

from mailgate.catalog import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    BlockReason,
    Direction,
    ExportStatus,
    Status,
    TrackingType,
)
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
    """The last delivery attempt."""

    status: Status
    time: str | None = None
    server: str | None = Field(None, description="the name of the server that answered")
    ip: str | None = None
    tls: str | None = None
    cipher: str | None = None
    reply: str | None = None
    next_attempt_at: str | None = Field(None, description="while the status is temporary_error")
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


class ExportTask(BaseModel):
    task_id: str
    created_at: str
    status: ExportStatus
    rows: int | None = None
    file_name: str | None = None


class ExportTaskList(BaseModel):
    tasks: list[ExportTask]


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
