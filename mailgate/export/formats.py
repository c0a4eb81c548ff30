"""Writing rows in an export format to a text stream, one row at a time (memory does not grow
with the row count). Every text cell is neutralised, in every format.

CSV is RFC 4180 (CRLF, quotes only where needed, doubled inside), UTF-8 with a BOM so that
Excel opens Japanese text correctly, with a header row of the columns' labels. JSON Lines has
one object per row, keyed by the columns' snake-case English names, times in ISO 8601 with
the zone's offset and sizes as numbers.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import TextIO, TypeVar
from zoneinfo import ZoneInfo

from mailgate.catalog import Locale
from mailgate.export.cells import Cell, local_time, neutralised
from mailgate.export.columns import ColumnSet

RowT = TypeVar("RowT")
BOM = "\ufeff"


class Format(StrEnum):
    CSV = "csv"
    JSONL = "jsonl"
    PARQUET = "parquet"  # binary: written by ``mailgate.export.parquet``, for export-all tasks

    @property
    def extension(self) -> str:
        return self.value

    @property
    def media_type(self) -> str:
        return _MEDIA_TYPES[self]


_MEDIA_TYPES = {
    Format.CSV: "text/csv; charset=utf-8",
    Format.JSONL: "application/x-ndjson",
    Format.PARQUET: "application/vnd.apache.parquet",
}


def _text(cell: Cell, zone: ZoneInfo) -> str:
    if isinstance(cell, datetime):
        return local_time(cell, zone)
    if isinstance(cell, float):
        return f"{cell:g}"
    return neutralised(cell)


def _typed(cell: Cell, zone: ZoneInfo) -> str | float:
    if isinstance(cell, datetime):
        return cell.astimezone(zone).isoformat()
    if isinstance(cell, float):
        return cell
    return neutralised(cell)


def write(
    out: TextIO,
    format: Format,
    columns: ColumnSet[RowT],
    rows: Iterable[RowT],
    locale: Locale,
    zone: ZoneInfo,
) -> int:
    """Write ``rows`` (and the CSV header) to ``out``; the number of rows written. ``out``
    must not translate newlines (``newline=""``). Only the text formats."""
    if format is Format.PARQUET:
        raise ValueError("Parquet is binary: mailgate.export.parquet writes it")
    count = 0
    if format is Format.CSV:
        out.write(BOM)
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow([neutralised(label) for label in columns.header(locale)])
        for row in rows:
            writer.writerow([_text(cell, zone) for cell in columns.cells(row, locale)])
            count += 1
        return count
    keys = columns.keys
    for row in rows:
        values = [_typed(cell, zone) for cell in columns.cells(row, locale)]
        out.write(json.dumps(dict(zip(keys, values, strict=True)), ensure_ascii=False) + "\n")
        count += 1
    return count
