"""`backbeat partitions migrate-shards`: the Dagster instance's station × day partitions to day × shard ones."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

import click

from backbeat.airplay.shard_migration import (
    DAY_SHARD_ASSETS,
    OLD_STATIONS_PARTITIONS,
    ShardMigrationReport,
    days_with_rows,
    fill_station_day_status,
    old_station_days,
)
from backbeat.airplay.shards import shard_of
from backbeat.settings import Settings
from integrations.warehouse import Warehouse

if TYPE_CHECKING:
    from dagster import DagsterInstance


@click.group()
def partitions() -> None:
    """The Dagster instance's partitions of the airplay and ledger assets."""


@partitions.command("shard")
@click.argument("stations", nargs=-1, required=True)
@click.option("--day", default=None, help="A UTC day (YYYY-MM-DD): also print the partition key of that day.")
def shard(stations: tuple[str, ...], day: str | None) -> None:
    """Print the shard of each station (stable: the SHA-256 of its id), and its partition key on --day."""

    for station in stations:
        key = f"\t{day}|{shard_of(station)}" if day else ""
        click.echo(f"{station}\t{shard_of(station)}{key}")


@partitions.command("migrate-shards")
def migrate_shards() -> None:
    """Record, for every station-day materialized under the old station × day partitions, its day × shard
    partition as materialized, fill `airplay.station_day_status` from the warehouse, and delete the old station
    partitions. Run once after `backbeat db upgrade` to 0009, with the sensors and schedules stopped and no
    station-day run in progress (deploy/SCALE.md); running it again changes nothing."""
    from dagster import DagsterInstance  # imported when used: the CLI starts without Dagster

    settings = Settings.from_env()
    with DagsterInstance.get() as instance:
        report = migrate_instance(instance, log=click.echo)
    db = Warehouse(settings.warehouse_url)
    report.status_rows = fill_station_day_status(db, days_with_rows(db))
    for line in report.lines()[-2:]:
        click.echo(line)


def migrate_instance(instance: DagsterInstance, log: Callable[[str], None] = print) -> ShardMigrationReport:
    """Report the day × shard partitions that the old station × day materializations stand for; idempotent."""
    from dagster import AssetKey, AssetMaterialization, MultiPartitionKey

    report = ShardMigrationReport()
    old_stations = set(instance.get_dynamic_partitions(OLD_STATIONS_PARTITIONS))
    for asset in DAY_SHARD_ASSETS:
        key = AssetKey(asset.split("/"))
        materialized = set(instance.get_materialized_partitions(key))
        wanted: dict[tuple[date, str], list[str]] = defaultdict(list)
        for day, station in old_station_days(materialized, old_stations):
            wanted[(day, shard_of(station))].append(station)
        for (day, shard), stations in sorted(wanted.items()):
            partition = MultiPartitionKey({"date": day.isoformat(), "shard": shard})
            if str(partition) in materialized:
                report.already[asset] = report.already.get(asset, 0) + 1
                continue
            instance.report_runless_asset_event(
                AssetMaterialization(
                    asset_key=key,
                    partition=str(partition),
                    description="Migrated from station × day partitions (backbeat partitions migrate-shards).",
                    metadata={"migrated_station_days": len(stations), "stations": ", ".join(sorted(stations))},
                )
            )
            report.reported[asset] = report.reported.get(asset, 0) + 1
            report.station_days[asset] = report.station_days.get(asset, 0) + len(stations)
        log(report.line(asset))
    for station in sorted(old_stations):
        instance.delete_dynamic_partition(OLD_STATIONS_PARTITIONS, station)
    report.station_partitions_deleted = len(old_stations)
    return report
