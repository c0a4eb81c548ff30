"""The SIEM feed as a SIEM reads it: CEF lines whose fields no message text can break out of,
JSON lines, and pages in the order written that a cursor resumes exactly, late writes included."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from functions.query.feed_service import SETTLE, FeedService
from mailgate import clock
from mailgate.api.errors import BadRequest
from mailgate.catalog import BlockReason, PolicyAction, ThreatType
from mailgate.clock import iso
from mailgate.export.siem import FeedFormat, extension_escaped, header_escaped, line
from mailgate.search.cursor import CursorSigner
from tests.unit.test_export_formats import _blocked, _event

# A CEF line: 7 header fields split on unescaped pipes, then the extension.
CEF = re.compile(r"^CEF:0\|((?:[^|\\]|\\.)*\|){6}(?P<extension>.*)$")


def _extension(cef: str) -> dict[str, str]:
    """The extension's keys and unescaped values, as a CEF parser reads them."""
    match = CEF.match(cef)
    assert match, cef
    pairs = re.findall(r"(\w+)=((?:[^=\\]|\\.)*?)(?= \w+=|$)", match["extension"])
    unescape = {"\\\\": "\\", "\\=": "=", "\\n": "\n", "\\r": "\r"}
    return {
        key: re.sub(r"\\[\\=nr]", lambda m: unescape[m.group(0)], value) for key, value in pairs
    }


def test_an_event_is_a_cef_line_with_the_catalog_cs1() -> None:
    cef = line(_event(threat_type=ThreatType.SPAM, action=PolicyAction.QUARANTINE), FeedFormat.CEF)

    assert cef.startswith("CEF:0|mailgate|mailgate|1|event:spam|Spam|7|")
    fields = _extension(cef)
    assert fields["cs1Label"] == "threatType" and fields["cs1"] == "spam"
    assert fields["suser"] == "alice@sender.test"
    assert fields["duser"] == "john@example.com,jane@example.com"
    assert fields["msg"] == "請求書の送付"
    assert fields["rt"] == str(int(datetime(2025, 6, 15, 23, 30, 5, tzinfo=UTC).timestamp() * 1000))


def test_a_blocked_row_is_a_cef_line_with_its_reason() -> None:
    cef = line(_blocked(block_reason=BlockReason.SENDER_IP_QIL), FeedFormat.CEF)

    assert "|blocked:sender_ip_qil|" in cef
    fields = _extension(cef)
    assert fields["src"] == "203.0.113.7" and fields["duser"] == "bob@example.com"
    assert fields["cs2"] == "sender_ip_qil" and fields["act"] == "blocked"


@pytest.mark.parametrize(
    "subject",
    [
        "a=b cs1=forged",
        "back\\slash\\",
        "line\r\nbreak act=allow\nCEF:0|evil|x|1|x|x|10|",
        "pipe | and \\| and =",
    ],
)
def test_no_text_of_a_message_forges_a_field_or_a_line(subject: str) -> None:
    cef = line(_event(subject=subject, threat_type=ThreatType.SPAM), FeedFormat.CEF)

    assert "\n" not in cef and "\r" not in cef
    fields = _extension(cef)
    assert fields["msg"] == subject
    assert fields["cs1"] == "spam" and fields["act"] == "quarantine"


def test_header_fields_escape_pipes_and_backslashes_and_lose_line_breaks() -> None:
    assert header_escaped("a|b\\c\r\nd") == "a\\|b\\\\c d"
    assert extension_escaped("a=b\\c\nd\re") == "a\\=b\\\\c\\nd\\re"


def test_json_lines_are_objects_with_their_kind_and_without_the_tenant() -> None:
    event = json.loads(line(_event(), FeedFormat.JSON))
    blocked = json.loads(line(_blocked(), FeedFormat.JSON))

    assert event["kind"] == "event" and event["cs1"] == "ransomware"
    assert event["subject"] == "請求書の送付" and "tenant_id" not in event
    assert blocked["kind"] == "blocked" and blocked["block_reason"] == "sender_ip_qil"
    assert "tenant_id" not in blocked and "mail_key" not in blocked


class _Written:
    """A store's records by feed position (what the by_write index holds)."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Any]] = []

    def add(self, written: datetime, kind: str, record: Any) -> None:
        self.items.append((f"{iso(written)}#{kind}#{len(self.items)}", record))
        self.items.sort(key=lambda item: item[0])

    def written(self, tenant_id: str, day: date, after: str, upto: str) -> Iterator[Any]:
        return iter(
            (p, r) for p, r in self.items if p[:10] == day.isoformat() and after < p <= upto
        )

    blocked_written = written


T0 = datetime(2026, 3, 10, 23, 58, tzinfo=UTC)


def _feed() -> tuple[FeedService, _Written, _Written]:
    events, tracking = _Written(), _Written()
    return FeedService(events, tracking, CursorSigner(b"k" * 32)), events, tracking  # type: ignore[arg-type]


def _subjects(lines: list[str]) -> list[str]:
    return [json.loads(text)["subject"] for text in lines]


def test_pages_follow_the_order_written_across_both_logs_and_midnight() -> None:
    feed, events, tracking = _feed()
    events.add(T0, "event", _event(subject="1"))
    tracking.add(T0 + timedelta(seconds=1), "blocked", _blocked(subject="2"))
    events.add(T0 + timedelta(minutes=3), "event", _event(subject="3"))  # the next UTC day

    with clock.travel(T0 + timedelta(minutes=10)):
        first = feed.page("t", FeedFormat.JSON, 2, since=T0 - timedelta(seconds=1))
        second = feed.page("t", FeedFormat.JSON, 2, cursor=first.cursor)
        third = feed.page("t", FeedFormat.JSON, 2, cursor=second.cursor)

    assert _subjects(first.lines) == ["1", "2"]
    assert _subjects(second.lines) == ["3"]
    assert third.lines == []


def test_a_record_written_late_about_an_earlier_time_is_not_skipped() -> None:
    feed, events, _ = _feed()
    events.add(T0, "event", _event(subject="on time"))
    with clock.travel(T0 + timedelta(minutes=5)):
        first = feed.page("t", FeedFormat.JSON, 100, since=T0 - timedelta(hours=1))

    # a retried scan writes, an hour later, an event of a message received before T0
    late = _event(subject="late", time=T0 - timedelta(hours=2))
    events.add(T0 + timedelta(hours=1), "event", late)
    with clock.travel(T0 + timedelta(hours=1, minutes=5)):
        second = feed.page("t", FeedFormat.JSON, 100, cursor=first.cursor)

    assert _subjects(first.lines) == ["on time"]
    assert _subjects(second.lines) == ["late"]


def test_what_was_written_in_the_last_two_minutes_waits_for_the_next_poll() -> None:
    feed, events, _ = _feed()
    events.add(T0, "event", _event(subject="settled"))
    events.add(T0 + timedelta(minutes=9), "event", _event(subject="fresh"))
    with clock.travel(T0 + timedelta(minutes=10)):
        first = feed.page("t", FeedFormat.JSON, 100, since=T0 - timedelta(minutes=1))
    with clock.travel(T0 + timedelta(minutes=9) + SETTLE + timedelta(seconds=1)):
        second = feed.page("t", FeedFormat.JSON, 100, cursor=first.cursor)

    assert _subjects(first.lines) == ["settled"]
    assert _subjects(second.lines) == ["fresh"]


def test_an_old_cursor_replays_everything_since_it_within_retention() -> None:
    feed, events, _ = _feed()
    with clock.travel(T0):
        cursor = feed.page("t", FeedFormat.JSON, 100).cursor
    for day in range(3):
        events.add(T0 + timedelta(days=day, hours=1), "event", _event(subject=f"day {day}"))
    with clock.travel(T0 + timedelta(days=5)):
        replay = feed.page("t", FeedFormat.JSON, 100, cursor=cursor)

    assert _subjects(replay.lines) == ["day 0", "day 1", "day 2"]


def test_a_cursor_of_another_tenant_or_altered_or_with_since_is_refused() -> None:
    feed, _, _ = _feed()
    with clock.travel(T0):
        cursor = feed.page("t", FeedFormat.CEF, 10).cursor
        for bad in (
            lambda: feed.page("other", FeedFormat.CEF, 10, cursor=cursor),
            lambda: feed.page("t", FeedFormat.CEF, 10, cursor=cursor[:-2] + "xx"),
            lambda: feed.page("t", FeedFormat.CEF, 10, cursor=cursor, since=T0),
        ):
            with pytest.raises(BadRequest):
                bad()
