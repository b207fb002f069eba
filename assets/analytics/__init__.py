"""Analytics: the dbt project's models and tests as assets and checks, the job that builds them with the finance
export, and the automation sensor that rebuilds them after their sources change."""

from dagster import Definitions

from assets.analytics import freshness
from assets.analytics.dbt import analytics_models
from assets.analytics.jobs import analytics_job
from assets.analytics.sensors import analytics_automation_sensor

defs = Definitions.merge(
    Definitions(assets=[analytics_models], jobs=[analytics_job], sensors=[analytics_automation_sensor]),
    freshness.defs,
)
