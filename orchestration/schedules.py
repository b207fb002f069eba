"""Schedules: the daily chain and the monthly statements."""

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from assets.common.partitions import monthly_partitions, station_day_key, station_partitions
from orchestration.jobs import monthly_statements_job, station_day_job


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


@schedule(job=monthly_statements_job, cron_schedule="0 4 2 * *", execution_timezone="UTC")
def monthly_statements_schedule(context: ScheduleEvaluationContext):
    """On the 2nd at 04:00 UTC, last month's party statements and finance export.

    The 2nd, not the 1st, so the last day of the month has been through its 02:00 daily chain.
    """
    first_of_this_month = context.scheduled_execution_time.date().replace(day=1)
    month = (first_of_this_month - timedelta(days=1)).replace(day=1).isoformat()
    if month not in monthly_partitions.get_partition_keys(context.scheduled_execution_time):
        return SkipReason(f"{month} is before the history starts")
    return RunRequest(run_key=f"statements|{month}", partition_key=month)
