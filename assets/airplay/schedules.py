"""Airplay's schedule: the daily chain of yesterday for every shard that holds a station."""

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from assets.airplay.jobs import station_day_job
from assets.common.partitions import day_shard_key
from assets.common.paths import DataDirResource
from backbeat.airplay.shards import by_shard
from backbeat.airplay.station_days import active_stations
from integrations.warehouse import WarehouseResource


@schedule(job=station_day_job, cron_schedule="0 2 * * *", execution_timezone="UTC")
def daily_chain_schedule(context: ScheduleEvaluationContext, data_dir: DataDirResource, warehouse: WarehouseResource):
    """At 02:00 UTC, yesterday's chain for every shard with a station: chunks → detections → plays → ledger.

    One run per day × shard (at most 32 a day, whatever the number of stations), over every station of the shard
    that is active in the stations table or has chunks of the day in landing. The dbt marts and the finance export
    follow by themselves once those runs have updated their sources.
    """
    day = (context.scheduled_execution_time - timedelta(days=1)).date()
    shards = by_shard(active_stations(warehouse.client()) | data_dir.landing_stations(day))
    if not shards:
        return SkipReason("no stations yet: materialize airplay/stations first, or capture a station")
    return [
        RunRequest(
            run_key=f"daily|{day}|{shard}",
            partition_key=day_shard_key(shard, day),
            tags={"backbeat/shard_stations": str(len(stations))},
        )
        for shard, stations in shards.items()
    ]
