"""Royalties' schedule: last month's party statements and finance export."""

from datetime import timedelta

from dagster import RunRequest, ScheduleEvaluationContext, SkipReason, schedule

from assets.common.partitions import monthly_partitions
from assets.royalties.jobs import monthly_statements_job


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
