"""What an operator's re-delivery run is (seed 003): which quarantined messages it selects,
who runs it, and what became of each message it took."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import AwareDatetime, BaseModel, Field, field_validator, model_validator

from mailgate.catalog import THREAT_TYPES, Direction, ThreatType
from mailgate.policy.records import QuarantineEntry, QuarantineState

MAX_FILTER_VALUES = 50
MAX_RATE_PER_S = 1000


class Selection(BaseModel):
    """Messages quarantined from ``start`` to ``end`` (both included) that match every filter
    given; an empty filter matches every value. Deleted messages are never selected; released
    ones are, to be counted as already released."""

    start: AwareDatetime
    end: AwareDatetime
    directions: list[Direction] = Field(
        default_factory=lambda: list(Direction), min_length=1, max_length=2
    )
    threat_types: list[ThreatType] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    subtypes: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    rule_names: list[str] = Field(default_factory=list, max_length=MAX_FILTER_VALUES)
    tenants: list[str] = Field(default_factory=list)  # empty: every tenant

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _sound(self) -> Selection:
        if self.start >= self.end:
            raise ValueError("the window's start must be before its end")
        known = {s for t in self.threat_types or THREAT_TYPES for s in THREAT_TYPES[t].subtypes}
        unknown = sorted(set(self.subtypes) - known)
        if unknown:
            raise ValueError(f"unknown threat subtypes: {', '.join(unknown)}")
        return self

    def matches(self, entry: QuarantineEntry) -> bool:
        if entry.state is QuarantineState.DELETED:
            return False
        if self.threat_types and entry.threat_type not in self.threat_types:
            return False
        if self.subtypes and entry.subtype not in self.subtypes:
            return False
        names = {name.lower() for name in self.rule_names}
        return not names or entry.rule_name.lower() in names


class RedeliveryRun(BaseModel):
    run_id: str
    operator: str
    created_at: datetime
    selection: Selection
    rate_per_s: int = Field(ge=1, le=MAX_RATE_PER_S)  # per tenant


class RunMessage(BaseModel):
    tenant_id: str
    message_uuid: str
    outcome: str = ""  # a QuarantineOutcome; empty while queued
    reason: str = ""  # why it failed
