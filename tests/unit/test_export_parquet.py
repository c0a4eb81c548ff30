"""Parquet export files as a notebook reads them back: the JSON Lines columns, typed, in row
groups of bounded size, written to a stream that cannot seek, with no cell a spreadsheet would
run."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mailgate.api.models import ExportRequest
from mailgate.catalog import TrackingType
from mailgate.export import formats, parquet
from mailgate.export.columns import EVENTS, TRACKING
from mailgate.records import TrackingRow
from tests.unit.test_export_formats import INJECTIONS, _accepted, _event, _Unseekable

TOKYO = ZoneInfo("Asia/Tokyo")
ACCEPTED = TRACKING[TrackingType.ACCEPTED]


def _table(rows: list[Any], columns: Any = ACCEPTED, **options: Any) -> tuple[pa.Table, Any]:
    sink = _Unseekable()
    written = parquet.write(sink, columns, rows, "ja", TOKYO, **options)  # type: ignore[arg-type]
    assert written == len(rows)
    file = pq.ParquetFile(io.BytesIO(bytes(sink.data)))
    return file.read(), file.metadata


def test_columns_are_the_jsonl_keys_with_times_as_zoned_timestamps_and_sizes_as_numbers() -> None:
    table, _ = _table([_accepted()])

    assert table.column_names == ACCEPTED.keys
    assert table.schema.field("date").type == pa.timestamp("us", tz="Asia/Tokyo")
    assert table.schema.field("size_kb").type == pa.float64()
    assert table.schema.field("subject").type == pa.string()
    (row,) = table.to_pylist()
    assert row["date"] == datetime(2025, 6, 15, 23, 30, 5, tzinfo=UTC)
    assert row["date"].utcoffset().total_seconds() == 9 * 3600
    assert row["size_kb"] == 2.0
    assert row["subject"] == "会議の資料について"
    assert row["direction"] == "受信"


def test_event_log_columns_are_typed_too() -> None:
    table, _ = _table([_event()], EVENTS)

    assert table.column_names == EVENTS.keys
    assert table.schema.field("message_size").type == pa.float64()
    assert table.num_rows == 1


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_in_a_text_column_is_neutralised(text: str) -> None:
    table, _ = _table([_accepted(subject=text, sender=text)])

    (row,) = table.to_pylist()
    assert row["subject"] == "'" + text
    assert row["sender"] == "'" + text


def test_rows_are_written_in_row_groups_of_bounded_size_in_order() -> None:
    rows = [_accepted(recipient=f"r{n}@example.com") for n in range(250)]

    table, metadata = _table(rows, row_group_rows=100)

    assert [metadata.row_group(n).num_rows for n in range(metadata.num_row_groups)] == [
        100,
        100,
        50,
    ]
    assert table.column("recipient").to_pylist() == [r.recipient for r in rows]


def test_no_rows_is_a_file_with_the_columns_and_no_rows() -> None:
    table, _ = _table([])

    assert table.num_rows == 0 and table.column_names == ACCEPTED.keys


def test_the_text_writer_refuses_parquet() -> None:
    with pytest.raises(ValueError, match="binary"):
        formats.write(io.StringIO(), formats.Format.PARQUET, ACCEPTED, [], "en", TOKYO)


def test_parquet_is_for_exports_of_all_rows_only() -> None:
    row: TrackingRow = _accepted()
    select = [{"message_uuid": row.message_uuid, "recipient": row.recipient}]

    assert ExportRequest.model_validate({"format": "parquet"}).format == "parquet"
    with pytest.raises(ValueError, match="select null"):
        ExportRequest.model_validate({"format": "parquet", "select": select})
