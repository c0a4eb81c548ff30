"""Search periods: presets end now, custom ranges are at most 60 days inside the 90-day
retention window, and every refusal is a 400 with a code and a sentence."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from mailgate.api.errors import BadRequest
from mailgate.search.period import Period, resolve

NOW = datetime(2025, 6, 15, 12, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)
SECOND = timedelta(seconds=1)


def refused(period: str | tuple[datetime, datetime]) -> BadRequest:
    with pytest.raises(BadRequest) as caught:
        resolve(period, NOW)
    error = caught.value
    assert error.status == 400
    assert error.message.strip(), "a refusal must explain itself"
    assert error.message.rstrip().endswith("."), "the message is a sentence"
    return error


@pytest.mark.parametrize(
    ("preset", "length"),
    [
        ("1h", timedelta(hours=1)),
        ("24h", timedelta(hours=24)),
        ("7d", timedelta(days=7)),
        ("14d", timedelta(days=14)),
        ("30d", timedelta(days=30)),
    ],
)
def test_a_preset_ends_now_and_reaches_back_its_length(preset: str, length: timedelta) -> None:
    assert resolve(preset, NOW) == Period(NOW - length, NOW)


def test_an_unknown_preset_is_refused_and_the_message_lists_the_presets() -> None:
    error = refused("2d")

    assert error.code == "invalid_period"
    assert "24h" in error.message


def test_a_custom_range_of_exactly_60_days_is_accepted() -> None:
    start, end = NOW - 60 * DAY, NOW

    assert resolve((start, end), NOW) == Period(start, end)


def test_a_custom_range_one_second_longer_than_60_days_is_refused() -> None:
    error = refused((NOW - 60 * DAY - SECOND, NOW))

    assert error.code == "period_too_long"
    assert "60" in error.message


def test_a_range_starting_at_the_edge_of_retention_is_accepted() -> None:
    start = NOW - 90 * DAY

    assert resolve((start, start + DAY), NOW) == Period(start, start + DAY)


def test_a_range_starting_before_retention_is_refused() -> None:
    # Given a short range that starts one second before the 90 days of kept logs
    start = NOW - 90 * DAY - SECOND

    # When it is resolved, Then it is refused for retention, not for its length
    error = refused((start, start + DAY))

    assert error.code == "period_out_of_retention"
    assert "90" in error.message


@pytest.mark.parametrize("gap", [timedelta(0), -SECOND, -DAY], ids=["equal", "1s-back", "1d-back"])
def test_an_end_not_after_the_start_is_refused(gap: timedelta) -> None:
    start = NOW - DAY

    error = refused((start, start + gap))

    assert error.code == "invalid_period"


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (datetime(2025, 6, 14, 12), datetime(2025, 6, 15, 11)),
        (datetime(2025, 6, 14, 12), datetime(2025, 6, 15, 11, tzinfo=UTC)),
        (datetime(2025, 6, 14, 12, tzinfo=UTC), datetime(2025, 6, 15, 11)),
    ],
    ids=["both-naive", "naive-start", "naive-end"],
)
def test_a_time_without_utc_offset_is_refused(start: datetime, end: datetime) -> None:
    error = refused((start, end))

    assert error.code == "invalid_period"


def test_a_start_in_the_future_is_refused() -> None:
    error = refused((NOW + SECOND, NOW + DAY))

    assert error.code == "invalid_period"


def test_an_end_in_the_future_is_clamped_to_now() -> None:
    start = NOW - DAY

    assert resolve((start, NOW + 3 * DAY), NOW) == Period(start, NOW)


def test_a_range_given_in_another_offset_is_the_same_instants() -> None:
    # Given the range in Japan time (UTC+9)
    jst = timezone(timedelta(hours=9))
    start = datetime(2025, 6, 15, 9, 0, tzinfo=jst)  # 00:00 UTC
    end = datetime(2025, 6, 15, 18, 0, tzinfo=jst)  # 09:00 UTC

    # When resolved, Then the same instants come back (nothing shifted by the offset)
    period = resolve((start, end), NOW)

    assert period.start == datetime(2025, 6, 15, 0, 0, tzinfo=UTC)
    assert period.end == datetime(2025, 6, 15, 9, 0, tzinfo=UTC)
