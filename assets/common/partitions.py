"""Shared calendars: every time-based asset is partitioned by UTC day, and by station where it fits; how a
backfill of them is split into runs; and how a partitioned check covers every partition of its run."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    BackfillPolicy,
    DailyPartitionsDefinition,
    DynamicPartitionsDefinition,
    MetadataValue,
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


range_backfill = BackfillPolicy.single_run()
"""A backfill runs once per contiguous range (per station for station × day: Dagster groups a multi-partition
selection by its dimension with fewer keys). For assets that loop over `context.partition_keys` one partition at a
time, writing each before reading the next, and overwrite exactly those: a run's memory is one partition's, and a
station-day's plays across midnight see the neighbouring day whenever it is in the same backfill."""

MAX_LISTED_PARTITIONS = 20


one_run_per_partition = BackfillPolicy.multi_run(1)
"""A backfill launches one run per partition: for assets whose partitions are independent sources read one at a
time (each mailbox's inbox), where a range has no meaning."""


def per_partition(check_fn: Callable[..., AssetCheckResult]) -> Callable[..., AssetCheckResult]:
    """Lets a partitioned check written for one partition (`context.partition_key`) run in a range run too.

    Put it under `@asset_check`. In a one-partition run the check is called as is. In a run of several partitions
    (a single-run backfill) it is called once per partition, its context answering that partition's key, and the
    results are combined by `combine_results`: Dagster records one evaluation per run.
    """

    @functools.wraps(check_fn)
    def wrapper(context: AssetCheckExecutionContext, *args: Any, **kwargs: Any) -> AssetCheckResult:
        if context.has_partition_key:
            return check_fn(context, *args, **kwargs)
        keys = list(context.partition_keys)
        return combine_results({key: check_fn(_OnePartition(context, key), *args, **kwargs) for key in keys})

    return wrapper


class _OnePartition:
    """A check context seen for one partition of its run: `partition_key` is that partition, all else as is."""

    def __init__(self, context: AssetCheckExecutionContext, partition_key: str) -> None:
        self._context = context
        self.partition_key = partition_key
        self.partition_keys = [partition_key]
        self.has_partition_key = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


def combine_results(results: dict[str, AssetCheckResult]) -> AssetCheckResult:
    """One check result for several partitions: passed when all passed, the failing partitions named, and the
    metadata of the first failing partition (else of the last one), which `partition_shown` names."""
    if len(results) == 1:
        return next(iter(results.values()))
    failing = [key for key, result in results.items() if not result.passed]
    shown = failing[0] if failing else list(results)[-1]
    severities = {results[key].severity for key in failing}
    return AssetCheckResult(
        passed=not failing,
        severity=AssetCheckSeverity.WARN if severities == {AssetCheckSeverity.WARN} else AssetCheckSeverity.ERROR,
        description=results[shown].description,
        metadata={
            **results[shown].metadata,
            "partition_shown": shown,
            "partitions_checked": len(results),
            "partitions_failing": len(failing),
            "failing_partitions": MetadataValue.md(
                "\n".join(f"- {key}" for key in failing[:MAX_LISTED_PARTITIONS]) or "none"
            ),
        },
    )
