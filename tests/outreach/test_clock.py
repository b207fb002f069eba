"""The outreach clock: one `utcnow` for the domain, shifted only when `BACKBEAT_OUTREACH_CLOCK_OFFSET_DAYS` asks."""

from datetime import UTC, datetime, timedelta

import pytest

from backbeat.outreach import clock


def test_unset_offset_is_real_utc_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(clock.CLOCK_OFFSET_ENV, raising=False)
    real = datetime.now(UTC).replace(tzinfo=None)
    assert abs(clock.utcnow() - real) < timedelta(seconds=5)
    assert clock.utcnow().tzinfo is None


def test_offset_shifts_every_reading_by_the_days_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.CLOCK_OFFSET_ENV, "-36.5")
    real = datetime.now(UTC).replace(tzinfo=None)
    assert abs(clock.utcnow() - (real - timedelta(days=36, hours=12))) < timedelta(seconds=5)


def test_an_offset_that_is_not_a_number_names_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(clock.CLOCK_OFFSET_ENV, "last week")
    with pytest.raises(
        ValueError, match="BACKBEAT_OUTREACH_CLOCK_OFFSET_DAYS must be a number of days, got 'last week'"
    ):
        clock.utcnow()
