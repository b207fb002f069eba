"""Analytics' sensor: the dbt marts and the finance export rebuild themselves after their sources change."""

from dagster import AutomationConditionSensorDefinition, DefaultSensorStatus

from assets.analytics.jobs import ANALYTICS_SELECTION

analytics_automation_sensor = AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=ANALYTICS_SELECTION,
    default_status=DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="Rebuilds the dbt marts and the finance export once the station-day runs that feed them finish.",
)
