"""The columns of each exported log, in the order of ``catalog.md``, and how a stored row
becomes their cells. A log plugs in as one ``ColumnSet``: its file and a row → cells function."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr
from typing import Generic, TypeVar

from mailgate.catalog import (
    ACCEPTED_CSV,
    BLOCKED_CSV,
    EVENTS_CSV,
    RECIPIENT_SEPARATOR,
    THREAT_TYPES,
    BlockReason,
    CsvFile,
    Label,
    Locale,
    Status,
    TrackingType,
)
from mailgate.export.cells import Cell
from mailgate.policy.records import PolicyEvent
from mailgate.records import TrackingRow, kilobytes
from mailgate.search.matching import NULL_SENDER

RowT = TypeVar("RowT")


def _key(label: str) -> str:
    """A column's name in typed formats: its English label in snake case."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


# The columns whose cells are times (aware datetimes) or numbers (floats); the others are text.
TIMES = frozenset({"Date"})
NUMBERS = frozenset({"Size (KB)", "Message size"})


@dataclass(frozen=True)
class ColumnSet(Generic[RowT]):
    file: CsvFile
    cells: Callable[[RowT, Locale], tuple[Cell, ...]]

    def header(self, locale: Locale) -> list[str]:
        return [column.text(locale) for column in self.file.columns]

    @property
    def keys(self) -> list[str]:
        return [_key(column.en) for column in self.file.columns]

    @property
    def kinds(self) -> list[type[Cell]]:
        """Each column's cell type, for the typed formats' schemas."""
        return [
            datetime if column.en in TIMES else float if column.en in NUMBERS else str
            for column in self.file.columns
        ]


def _accepted(row: TrackingRow, locale: Locale) -> tuple[Cell, ...]:
    return (
        row.time,
        TrackingType.ACCEPTED.label(locale),
        row.direction.label(locale),
        row.sender or NULL_SENDER,
        row.recipient,
        row.sender_ip,
        row.delivered_to,
        (row.status or Status.PROCESSING).label(locale),
        row.upstream_tls,
        row.downstream_tls,
        row.downstream_dane,
        row.downstream_mta_sts,
        row.subject,
        row.size_kb,
        row.message_id,
        RECIPIENT_SEPARATOR.text(locale).join(a.name for a in row.attachments),
        row.message_uuid,
    )


def block_reason(row: TrackingRow) -> BlockReason:
    """A blocked row's reason; one the catalog does not know is "other"."""
    try:
        return BlockReason(row.block_reason or BlockReason.OTHER)
    except ValueError:
        return BlockReason.OTHER


def _blocked(row: TrackingRow, locale: Locale) -> tuple[Cell, ...]:
    return (
        row.time,
        TrackingType.BLOCKED.label(locale),
        row.direction.label(locale),
        row.sender or NULL_SENDER,
        row.recipient,
        row.sender_ip,
        row.upstream_tls,
        block_reason(row).label(locale),
        row.message_uuid,
    )


TRACKING: dict[TrackingType, ColumnSet[TrackingRow]] = {
    TrackingType.ACCEPTED: ColumnSet(ACCEPTED_CSV, _accepted),
    TrackingType.BLOCKED: ColumnSet(BLOCKED_CSV, _blocked),
}


def _shown_recipients(event: PolicyEvent, locale: Locale) -> str:
    """Seed 001: the envelope recipients in one cell, each as ``Name <addr>`` when the To or
    Cc header names that address."""
    names: dict[str, str] = {}
    for shown in event.header_to:
        name, address = parseaddr(shown)
        if name and address:
            names.setdefault(address.lower(), name)
    return RECIPIENT_SEPARATOR.text(locale).join(
        f"{names[r.lower()]} <{r}>" if r.lower() in names else r for r in event.recipients
    )


def _code_label(labels: Mapping[str, Label], code: str, locale: Locale) -> str:
    """The label of a subtype or detection method; a code the catalog does not know as is."""
    label = labels.get(code)
    return code if label is None else label.text(locale)


def _event(event: PolicyEvent, locale: Locale) -> tuple[Cell, ...]:
    threat = THREAT_TYPES[event.threat_type]
    return (
        event.time,
        event.sender or NULL_SENDER,
        _shown_recipients(event, locale),
        event.threat_type.label(locale),
        _code_label(threat.subtypes, event.subtype, locale),
        _code_label(threat.methods, event.detection_method, locale),
        event.threat_name,
        event.action.label(locale),
        event.subject,
        event.message_id,
        kilobytes(event.size),
        event.direction.label(locale),
        event.rule_name,
        event.domain,
        event.violating_file,
    )


EVENTS: ColumnSet[PolicyEvent] = ColumnSet(EVENTS_CSV, _event)
