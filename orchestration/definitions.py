"""The single entry point: every domain's assets, dbt, jobs, schedules, sensors and resources, merged."""

from dagster import Definitions, in_process_executor, multiprocess_executor

import assets.airplay
import assets.catalog
import assets.curation
import assets.exports
import assets.outreach
import assets.rights
import assets.royalties
from backbeat.settings import Settings
from orchestration.dbt import analytics_models
from orchestration.jobs import analytics_job, curation_job, reference_data_job, station_day_job
from orchestration.resources import build_resources
from orchestration.schedules import daily_chain_schedule
from orchestration.sensors import analytics_automation_sensor, landing_chunks_sensor


def build_definitions(settings: Settings) -> Definitions:
    """All of Backbeat for one environment. DuckDB allows one writer process, so embedded runs stay in one."""
    executor = in_process_executor if settings.warehouse_kind == "duckdb" else multiprocess_executor
    return Definitions.merge(
        assets.catalog.defs,
        assets.airplay.defs,
        assets.rights.defs,
        assets.royalties.defs,
        assets.curation.defs,
        assets.outreach.defs,
        assets.exports.defs,
        Definitions(
            assets=[analytics_models],
            jobs=[reference_data_job, station_day_job, analytics_job, curation_job],
            schedules=[daily_chain_schedule],
            sensors=[landing_chunks_sensor, analytics_automation_sensor],
            resources=build_resources(settings),
            executor=executor,
        ),
    )


defs = build_definitions(Settings.from_env())
