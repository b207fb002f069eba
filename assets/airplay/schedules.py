"""Airplay's schedule: the daily chain of yesterday for every registered station."""

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from assets.airplay.jobs import station_day_job
from assets.common.partitions import station_day_key, station_partitions


@schedule(job=station_day_job, cron_schedule="0 2 * * *", execution_timezone="UTC")
def daily_chain_schedule(context: ScheduleEvaluationContext):
    """At 02:00 UTC, yesterday's chain for every registered station: chunks → detections → plays → ledger.

    The dbt marts and the finance export follow by themselves once those runs have updated their sources.
    """
    day = (context.scheduled_execution_time - timedelta(days=1)).date()
    stations = context.instance.get_dynamic_partitions(station_partitions.name)
    if not stations:
        return SkipReason("no stations registered yet: materialize airplay/stations first")
    return [
        RunRequest(run_key=f"daily|{day}|{station}", partition_key=station_day_key(station, day))
        for station in sorted(stations)
    ]
