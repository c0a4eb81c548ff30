"""What stage 2 leaves for a tenant admin to read: policy events and the quarantine index."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from mailgate.catalog import THREAT_TYPES, Direction, PolicyAction, ThreatType


class PolicyEvent(BaseModel):
    """One detection in one message (seed 000: policy events list one row per message and
    detection, its recipients together)."""

    tenant_id: str
    event_id: str  # derived from the message, the evaluation pass and the rule: written once
    message_uuid: str
    time: datetime  # when stage 2 detected it
    received_at: datetime
    direction: Direction
    sender: str
    recipients: list[str]
    header_from: list[str] = Field(default_factory=list)
    header_to: list[str] = Field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    size: int = 0
    domain: str = ""  # the tenant's managed domain the message was for (inbound) or from
    rule_id: str = ""
    rule_name: str
    threat_type: ThreatType
    subtype: str = ""
    detection_method: str = ""
    threat_name: str = ""
    action: PolicyAction
    violating_file: str = ""
    violating_url: str = ""
    # Engine details shown in the event's detail: the spam result and version strings, the
    # keyword or DLP template that matched, why a scan was excluded.
    details: dict[str, str] = Field(default_factory=dict)

    @property
    def cs1(self) -> str:
        return THREAT_TYPES[self.threat_type].cs1


class QuarantineState(StrEnum):
    QUARANTINED = "quarantined"
    RELEASING = "releasing"  # a release was accepted; stage 2 goes on after the rule
    RELEASED = "released"
    DELETED = "deleted"


class QuarantineEntry(BaseModel):
    """A quarantined message: the raw message stays in the mail bucket under ``mail_key``."""

    tenant_id: str
    message_uuid: str
    time: datetime  # when it was quarantined
    received_at: datetime
    direction: Direction
    sender: str
    recipients: list[str]
    sender_ip: str = ""
    header_from: list[str] = Field(default_factory=list)
    header_to: list[str] = Field(default_factory=list)
    subject: str = ""
    message_id: str = ""
    size: int = 0
    rule_id: str
    rule_name: str
    threat_type: ThreatType  # the reason
    subtype: str = ""  # of the threat type (catalog.md), when the detection names one
    mail_key: str
    state: QuarantineState = QuarantineState.QUARANTINED
    released_by: str = ""
    released_at: datetime | None = None
    deleted_by: str = ""
    deleted_at: datetime | None = None
