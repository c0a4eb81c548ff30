"""Key layout of the tracking table.

A row (one per message and recipient) and the timeline events of its message share the
partition ``<tenant>#M#<message uuid>``; rows sort under ``R#<recipient>``, events under
``E#<event id>``. The ``by_time`` index partitions rows by tenant, direction, type and
UTC day, sorted by ``<time>#<message uuid>#<recipient>``, so a search period is one key-range
query per day, newest first.
"""

from __future__ import annotations

from datetime import date, datetime

from mailgate.clock import iso

ROW_PREFIX = "R#"
EVENT_PREFIX = "E#"


def message_pk(tenant_id: str, message_uuid: str) -> str:
    return f"{tenant_id}#M#{message_uuid}"


def row_sk(recipient: str) -> str:
    return f"{ROW_PREFIX}{recipient.lower()}"


def event_sk(event_id: str) -> str:
    """Events are keyed by an id the step derives from what it did (stage, attempt, recipient),
    so a step that runs twice writes its event once."""
    return f"{EVENT_PREFIX}{event_id}"


def day_bucket(tenant_id: str, direction: str, log_type: str, day: date) -> str:
    return f"{tenant_id}#{direction}#{log_type}#{day.isoformat()}"


def time_sort_key(time: datetime, message_uuid: str, recipient: str) -> str:
    return f"{iso(time)}#{message_uuid}#{recipient.lower()}"
