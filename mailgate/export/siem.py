"""The SIEM feed's lines: one per policy event or blocked-traffic row, as CEF (ArcSight Common
Event Format, revision 25) or as a JSON object.

CEF escaping: in the header, ``\\`` and ``|``; in extension values, ``\\`` and ``=``, and a line
break is written ``\\n`` or ``\\r``, so no value (a subject, a sender) can end the line, add a
header field or forge an extension key. Header text has no line breaks at all (a break becomes a
space). Labels are English: a SIEM's parsers key on them.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum

from mailgate.catalog import POLICY_ACTIONS, ActionKind, Direction, TrackingType
from mailgate.export.columns import block_reason
from mailgate.policy.records import PolicyEvent
from mailgate.records import TrackingRow

VENDOR = "mailgate"
PRODUCT = "mailgate"
PRODUCT_VERSION = "1"
# CEF severities (0-10): a message held back or deleted is worth more of an analyst's look.
INTERCEPTED = 7
OTHER = 4
BLOCKED_SEVERITY = 5

FeedRecord = PolicyEvent | TrackingRow


class FeedFormat(StrEnum):
    CEF = "cef"
    JSON = "json"

    @property
    def media_type(self) -> str:
        return "text/plain; charset=utf-8" if self is FeedFormat.CEF else "application/x-ndjson"


def header_escaped(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("|", "\\|")
    return escaped.replace("\r\n", " ").replace("\r", " ").replace("\n", " ")


def extension_escaped(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("=", "\\=")
    return escaped.replace("\n", "\\n").replace("\r", "\\r")


def _millis(moment: datetime) -> str:
    return str(int(moment.timestamp() * 1000))


def _direction(direction: Direction) -> str:
    return "0" if direction is Direction.INBOUND else "1"  # CEF deviceDirection


def _cef(signature: str, name: str, severity: int, extension: dict[str, str]) -> str:
    header = [
        "CEF:0",
        *(header_escaped(field) for field in (VENDOR, PRODUCT, PRODUCT_VERSION, signature, name)),
        str(severity),
    ]
    pairs = " ".join(
        f"{key}={extension_escaped(value)}" for key, value in extension.items() if value
    )
    return "|".join(header) + "|" + pairs


def _event_cef(event: PolicyEvent) -> str:
    kind = POLICY_ACTIONS[event.action].kind
    return _cef(
        f"event:{event.threat_type.value}",
        event.threat_type.label("en"),
        INTERCEPTED if kind is ActionKind.INTERCEPT else OTHER,
        {
            "rt": _millis(event.time),
            "deviceDirection": _direction(event.direction),
            "externalId": event.event_id,
            "suser": event.sender,
            "duser": ",".join(event.recipients),
            "act": event.action.value,
            "msg": event.subject,
            "cs1Label": "threatType",
            "cs1": event.cs1,
            "cs2Label": "subtype",
            "cs2": event.subtype,
            "cs3Label": "detectionMethod",
            "cs3": event.detection_method,
            "cs4Label": "threatName",
            "cs4": event.threat_name,
            "cs5Label": "ruleName",
            "cs5": event.rule_name,
            "cs6Label": "messageId",
            "cs6": event.message_id,
            "fname": event.violating_file,
            "request": event.violating_url,
        },
    )


def _blocked_cef(row: TrackingRow) -> str:
    reason = block_reason(row)
    return _cef(
        f"blocked:{reason.value}",
        f"Blocked: {reason.label('en')}",
        BLOCKED_SEVERITY,
        {
            "rt": _millis(row.time),
            "deviceDirection": _direction(row.direction),
            "externalId": row.message_uuid,
            "src": row.sender_ip,
            "suser": row.sender,
            "duser": row.recipient,
            "act": "blocked",
            "msg": row.subject,
            "cs2Label": "blockReason",
            "cs2": reason.value,
            "cs6Label": "messageId",
            "cs6": row.message_id,
        },
    )


def line(record: FeedRecord, format: FeedFormat) -> str:
    """One line of the feed (without its line break)."""
    if format is FeedFormat.CEF:
        return _event_cef(record) if isinstance(record, PolicyEvent) else _blocked_cef(record)
    if isinstance(record, PolicyEvent):
        fields = {"kind": "event", "cs1": record.cs1}
        fields |= record.model_dump(mode="json", exclude={"tenant_id"})
    else:
        fields = {"kind": TrackingType.BLOCKED.value}
        fields |= record.model_dump(
            mode="json", exclude={"tenant_id", "mail_key", "status"}, exclude_none=True
        )
    return json.dumps(fields, ensure_ascii=False)
