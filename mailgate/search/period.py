"""Search periods: presets relative to now, or a custom range of at most 60 days inside the
90-day retention window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailgate.api.errors import BadRequest
from mailgate.api.models import CustomPeriod, Preset
from mailgate.catalog import CUSTOM_RANGE_MAX, PERIOD_PRESETS, RETENTION


@dataclass(frozen=True)
class Period:
    start: datetime
    end: datetime


def resolve(period: str | tuple[datetime, datetime], now: datetime) -> Period:
    if isinstance(period, str):
        if period not in PERIOD_PRESETS:
            presets = ", ".join(PERIOD_PRESETS)
            raise BadRequest("invalid_period", f"period must be one of {presets} or a range.")
        return Period(now - PERIOD_PRESETS[period], now)
    start, end = period
    if start.tzinfo is None or end.tzinfo is None:
        raise BadRequest(
            "invalid_period", "period start and end must include a UTC offset, e.g. 'Z'."
        )
    if end <= start:
        raise BadRequest("invalid_period", "period end must be later than its start.")
    end = min(end, now)
    if end - start > CUSTOM_RANGE_MAX:
        raise BadRequest(
            "period_too_long",
            f"A custom period may span at most {CUSTOM_RANGE_MAX.days} days.",
        )
    if start < now - RETENTION:
        raise BadRequest(
            "period_out_of_retention",
            f"Logs are kept {RETENTION.days} days: the period must start after "
            f"{(now - RETENTION).isoformat(timespec='seconds')}.",
        )
    if start > now:
        raise BadRequest("invalid_period", "period start is in the future.")
    return Period(start, end)


def requested(period: Preset | CustomPeriod, now: datetime) -> Period:
    """A search request's period resolved at ``now`` (a preset ends then)."""
    return resolve(period if isinstance(period, str) else (period.start, period.end), now)
