"""The offline country database: read once per process, whoever asks first."""

from __future__ import annotations

import threading

import pytest

from mailgate import countries


def test_look_ups_that_come_first_at_once_read_the_database_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    reads: list[str] = []
    real = countries.GeoIP2Fast

    def counted(**kwargs: object) -> object:
        reads.append(str(kwargs["geoip2fast_data_file"]))
        return real(**kwargs)

    monkeypatch.setattr(countries, "GeoIP2Fast", counted)
    monkeypatch.setattr(countries, "_databases", {})
    start = threading.Barrier(16)
    found: list[str | None] = []

    def look_up() -> None:
        start.wait()
        found.append(countries.country_of("8.8.8.8"))

    threads = [threading.Thread(target=look_up) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert reads == [""]
    assert found == ["US"] * 16


def test_an_address_of_no_country_has_none() -> None:
    assert countries.country_of("127.0.0.1") is None
    assert countries.country_of("not an address") is None
