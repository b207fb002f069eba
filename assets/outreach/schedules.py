"""Outreach's schedules: the hourly mailbox health probe, the daily retention pass over message bodies and the
weekly prospecting refresh."""

from dagster import ScheduleDefinition

from assets.outreach.jobs import outreach_mailbox_health_job, outreach_prospecting_job, outreach_retention_job

outreach_retention_schedule = ScheduleDefinition(
    name="outreach_retention_schedule",
    job=outreach_retention_job,
    cron_schedule="30 3 * * *",
    execution_timezone="UTC",
    description="Daily at 03:30 UTC: delete message bodies whose retention expired.",
)

outreach_mailbox_health_schedule = ScheduleDefinition(
    name="outreach_mailbox_health_schedule",
    job=outreach_mailbox_health_job,
    cron_schedule="17 * * * *",
    execution_timezone="UTC",
    description="Hourly: probe every mailbox's grant, so a revoked one shows (and alerts) before its next send.",
)

outreach_prospecting_schedule = ScheduleDefinition(
    name="outreach_prospecting_schedule",
    job=outreach_prospecting_job,
    cron_schedule="0 5 * * 1",
    execution_timezone="UTC",
    description="Mondays at 05:00 UTC: prospecting again - searches older than their refresh_days, enrichment of "
    "new candidates within this month's credits, and every campaign ranked on the week's airplay.",
)

OUTREACH_SCHEDULES = [outreach_mailbox_health_schedule, outreach_retention_schedule, outreach_prospecting_schedule]
