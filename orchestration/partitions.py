"""Shared calendars: every time-based asset is partitioned by UTC day, and by station where it fits."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from dagster import (
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
)

HISTORY_START = "2026-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC")
"""One partition per UTC day."""

station_partitions = DynamicPartitionsDefinition(name="stations")
"""Radio station ids, registered from the stations table and by the landing-folder sensor."""

station_day_partitions = MultiPartitionsDefinition({"date": daily_partitions, "station": station_partitions})
"""Station × UTC day: the grain of capture, matching, plays and the royalty batches they post."""


def station_day_key(station_id: str, day: date | str) -> MultiPartitionKey:
    return MultiPartitionKey({"date": str(day), "station": station_id})


def day_window(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day as naive UTC datetimes (the warehouse stores naive UTC)."""
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


def station_days(partition_keys: list[str]) -> list[tuple[str, date]]:
    """(station, day) pairs of a run's station × day partition keys, in order (one for a normal run)."""
    pairs = []
    for key in partition_keys:
        dims = station_day_partitions.get_partition_key_from_str(str(key)).keys_by_dimension
        pairs.append((dims["station"], date.fromisoformat(dims["date"])))
    return sorted(pairs)


monthly_partitions = MonthlyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC", end_offset=1)
"""One partition per calendar month (UTC): statements and the monthly finance exports. The month in progress
is a partition too (`end_offset=1`): its statement is provisional until the month ends and is re-run."""
