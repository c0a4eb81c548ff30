"""What goes into one cell of an export, whatever the format: text a spreadsheet will not run,
and times in the reader's time zone."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

# OWASP "CSV Injection": a cell starting with one of these is a formula (or, after a tab or
# CR, may become one) to Excel, LibreOffice or Google Sheets. The full-width forms are added
# (U+FF1D, U+FF0B, U+FF0D, U+FF20) because Japanese spreadsheets may take them for the ASCII ones.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")

Cell = str | float | datetime  # a datetime is aware, in UTC


def neutralised(text: str) -> str:
    """``text`` with a leading ``'`` when a spreadsheet would otherwise run it."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


@cache
def _zone_names() -> frozenset[str]:
    return frozenset(available_timezones())


def time_zone(name: str) -> ZoneInfo:
    """The IANA zone ``name``; ValueError for any other string (paths included)."""
    if name not in _zone_names():
        raise ValueError(f"{name[:64]!r} is not an IANA time zone name such as Asia/Tokyo")
    return ZoneInfo(name)


def local_time(moment: datetime, zone: ZoneInfo) -> str:
    """A spreadsheet-friendly local time: ``2025-06-15 18:00:00``."""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
