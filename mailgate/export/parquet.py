"""Parquet export files: the columns of the JSON Lines files (snake-case English names), typed
(times as timestamps in the reader's zone, sizes as doubles, the rest as UTF-8 text), written
one row group at a time to a stream that need not seek, so memory holds one group of rows
whatever the row count. Text cells are neutralised as in every format."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import BinaryIO, TypeVar
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq

from mailgate.catalog import Locale
from mailgate.export.cells import Cell, neutralised
from mailgate.export.columns import ColumnSet

RowT = TypeVar("RowT")
ROW_GROUP_ROWS = 10_000


def schema(columns: ColumnSet[RowT], zone: ZoneInfo) -> pa.Schema:
    types = {datetime: pa.timestamp("us", tz=zone.key), float: pa.float64(), str: pa.string()}
    return pa.schema(
        [
            pa.field(key, types[kind], nullable=kind is not str)
            for key, kind in zip(columns.keys, columns.kinds, strict=True)
        ]
    )


def _value(cell: Cell) -> Cell:
    return neutralised(cell) if isinstance(cell, str) else cell


def write(
    out: BinaryIO,
    columns: ColumnSet[RowT],
    rows: Iterable[RowT],
    locale: Locale,
    zone: ZoneInfo,
    *,
    row_group_rows: int = ROW_GROUP_ROWS,
) -> int:
    """Write ``rows`` to ``out`` as one Parquet file; the number of rows written."""
    shape = schema(columns, zone)
    group: list[list[Cell]] = [[] for _ in shape]
    count = 0
    with pq.ParquetWriter(out, shape, compression="zstd") as writer:

        def flush() -> None:
            writer.write_batch(pa.record_batch(group, schema=shape))
            for column in group:
                column.clear()

        for row in rows:
            for column, cell in zip(group, columns.cells(row, locale), strict=True):
                column.append(_value(cell))
            count += 1
            if count % row_group_rows == 0:
                flush()
        if count % row_group_rows:
            flush()
    return count
