"""The columns of each exported log, in the order of ``catalog.md``, and how a stored row
becomes their cells. A log plugs in as one ``ColumnSet``: its file and a row → cells function."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from mailgate.catalog import (
    ACCEPTED_CSV,
    BLOCKED_CSV,
    BlockReason,
    CsvFile,
    Locale,
    Status,
    TrackingType,
)
from mailgate.export.cells import Cell
from mailgate.records import TrackingRow
from mailgate.search.matching import NULL_SENDER

RowT = TypeVar("RowT")


def _key(label: str) -> str:
    """A column's name in typed formats: its English label in snake case."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


@dataclass(frozen=True)
class ColumnSet(Generic[RowT]):
    file: CsvFile
    cells: Callable[[RowT, Locale], tuple[Cell, ...]]

    def header(self, locale: Locale) -> list[str]:
        return [column.text(locale) for column in self.file.columns]

    @property
    def keys(self) -> list[str]:
        return [_key(column.en) for column in self.file.columns]


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
        "",  # downstream DANE and MTA-STS: not recorded yet
        "",
        row.subject,
        row.size_kb,
        row.message_id,
        "",  # attachments: not recorded yet
        row.message_uuid,
    )


def _block_reason(row: TrackingRow) -> BlockReason:
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
        _block_reason(row).label(locale),
        row.message_uuid,
    )


TRACKING: dict[TrackingType, ColumnSet[TrackingRow]] = {
    TrackingType.ACCEPTED: ColumnSet(ACCEPTED_CSV, _accepted),
    TrackingType.BLOCKED: ColumnSet(BLOCKED_CSV, _blocked),
}
