"""Request and response models of the tenant API (they generate the OpenAPI document)."""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from mailgate.catalog import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Direction,
    ExportStatus,
    Status,
    TrackingType,
)

Preset = Literal["1h", "24h", "7d", "14d", "30d"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CustomPeriod(_Strict):
    start: AwareDatetime
    end: AwareDatetime


class TrackingSearch(_Strict):
    direction: Direction = Direction.INBOUND
    type: TrackingType = TrackingType.ACCEPTED
    period: Preset | CustomPeriod = "24h"
    sort: Literal["desc", "asc"] = "desc"
    limit: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    cursor: str | None = Field(None, max_length=4096)


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
    block_reason: str
    reason: str


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


class ExportTask(BaseModel):
    task_id: str
    created_at: str
    status: ExportStatus
    rows: int | None = None
    file_name: str | None = None


class ExportTaskList(BaseModel):
    tasks: list[ExportTask]
