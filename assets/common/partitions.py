"""Shared calendars: every time-based asset is partitioned by UTC day, and by station shard where it fits; how a
backfill of them is split into runs; and how a partitioned check covers every partition (and station) of its run."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import date, datetime, timedelta
from typing import Any

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetCheckSeverity,
    AssetExecutionContext,
    BackfillPolicy,
    DailyPartitionsDefinition,
    MetadataValue,
    MonthlyPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from backbeat.airplay.shards import SHARD_KEYS, shard_of
from backbeat.airplay.station_days import parse_station_list, processed_stations, stations_to_process
from integrations.warehouse import Warehouse

STATIONS_TAG = "backbeat/stations"
"""A run tag naming the stations (comma-separated) a day × shard run processes; all of the shard's without it."""
MAX_STATIONS_TAG_CHARS = 4000

HISTORY_START = "2026-01-01"

daily_partitions = DailyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC")
"""One partition per UTC day."""

shard_partitions = StaticPartitionsDefinition(list(SHARD_KEYS))
"""The 32 station shards `s00`…`s31` (`backbeat.airplay.shards`): a station's shard never changes."""

day_shard_partitions = MultiPartitionsDefinition({"date": daily_partitions, "shard": shard_partitions})
"""UTC day × station shard: the grain of capture, matching, plays and the royalty batches they post. A partition
holds about 1/32 of the stations; per-station state is in `airplay.station_day_status` (deploy/SCALE.md)."""


def day_shard_key(shard: str, day: date | str) -> MultiPartitionKey:
    return MultiPartitionKey({"date": str(day), "shard": shard})


def station_day_key(station_id: str, day: date | str) -> MultiPartitionKey:
    """The day × shard partition that holds a station's day."""
    return day_shard_key(shard_of(station_id), day)


def shard_days(partition_keys: list[str]) -> list[tuple[str, date]]:
    """(shard, day) pairs of a run's day × shard partition keys, in order (one for a normal run)."""
    pairs = []
    for key in partition_keys:
        dims = day_shard_partitions.get_partition_key_from_str(str(key)).keys_by_dimension
        pairs.append((dims["shard"], date.fromisoformat(dims["date"])))
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def stations_tag(stations: list[str]) -> dict[str, str]:
    """The run tag restricting a run to `stations`; no tag (the whole shard) when the list would be too long."""
    value = ",".join(sorted(set(stations)))
    return {STATIONS_TAG: value} if value and len(value) <= MAX_STATIONS_TAG_CHARS else {}


def run_stations(tags: dict[str, str]) -> list[str] | None:
    """The stations a run is restricted to by its tags, or None for every station of its shards."""
    return parse_station_list(tags.get(STATIONS_TAG))


def run_station_days(
    context: AssetExecutionContext,
    db: Warehouse,
    stage: str,
    extra_input: Callable[[date], Iterable[str]] | None = None,
) -> list[tuple[str, date]]:
    """The (station, day) pairs a day × shard run of `stage` processes, day by day (then station): for each of its
    partitions, the shard's stations with input or output that day (`extra_input(day)`: more input, e.g. the
    landing files), narrowed to the run's `backbeat/stations` tag when it has one."""
    only = run_stations(context.run.tags)
    pairs = []
    for shard, day in shard_days(list(context.partition_keys)):
        extra = extra_input(day) if extra_input is not None else ()
        pairs += [(station, day) for station in stations_to_process(db, stage, shard, day, extra, only)]
    return sorted(pairs, key=lambda pair: (pair[1], pair[0]))


def day_window(day: date) -> tuple[datetime, datetime]:
    """[start, end) of a UTC day as naive UTC datetimes (the warehouse stores naive UTC)."""
    start = datetime(day.year, day.month, day.day)
    return start, start + timedelta(days=1)


monthly_partitions = MonthlyPartitionsDefinition(start_date=HISTORY_START, timezone="UTC", end_offset=1)
"""One partition per calendar month (UTC): statements and the monthly finance exports. The month in progress
is a partition too (`end_offset=1`): its statement is provisional until the month ends and is re-run."""


range_backfill = BackfillPolicy.single_run()
"""A backfill runs once per contiguous range (for day × shard: Dagster groups a multi-partition selection by its
dimension with fewer keys, so a year of one shard is one run, and a day of all 32 shards is one run). For assets
that loop over `context.partition_keys` one partition at a time, writing each before reading the next, and
overwrite exactly those: a run's memory is one partition's, and a station-day's plays across midnight see the
neighbouring day whenever it is in the same backfill."""

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


def per_station_day(stage: str) -> Callable[[Callable[..., AssetCheckResult]], Callable[..., AssetCheckResult]]:
    """Runs a day × shard check once per station-day its run processed, and combines the results.

    Put it under `@asset_check` on a check that takes a `warehouse` resource and reads its station and day with
    `checked_station_day(context)`. The stations are those `stage` recorded in `airplay.station_day_status` for
    each partition of the run (narrowed to the run's `backbeat/stations` tag): a failing result names the
    station-days (`date|station`) that failed. A partition with no station passes, saying so.
    """

    def decorate(check_fn: Callable[..., AssetCheckResult]) -> Callable[..., AssetCheckResult]:
        @functools.wraps(check_fn)
        def wrapper(context: AssetCheckExecutionContext, *args: Any, **kwargs: Any) -> AssetCheckResult:
            db = kwargs["warehouse"].client()
            keys = [context.partition_key] if context.has_partition_key else list(context.partition_keys)
            only = run_stations(context.run.tags)
            results = {}
            for shard, day in shard_days(keys):
                for station in processed_stations(db, stage, shard, day):
                    if only is None or station in only:
                        one = _OneStationDay(context, str(day_shard_key(shard, day)), station, day)
                        results[f"{day}|{station}"] = check_fn(one, *args, **kwargs)
            if not results:
                return AssetCheckResult(passed=True, metadata={"station_days_checked": 0, "partitions": len(keys)})
            combined = combine_results(results)
            return AssetCheckResult(
                passed=combined.passed,
                severity=combined.severity,
                description=combined.description,
                metadata={**combined.metadata, "station_days_checked": len(results)},
            )

        return wrapper

    return decorate


def checked_station_day(context: Any) -> tuple[str, date]:
    """The (station, day) a `per_station_day` check is called for."""
    return context.station_day


class _OneStationDay(_OnePartition):
    """A check context seen for one station-day of its run's partitions."""

    def __init__(self, context: AssetCheckExecutionContext, partition_key: str, station: str, day: date) -> None:
        super().__init__(context, partition_key)
        self.station_day = (station, day)


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
