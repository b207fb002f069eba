"""The single entry point: every domain's assets, dbt, jobs, schedules, sensors and resources, merged."""

from dagster import Definitions, in_process_executor, multiprocess_executor

import assets.airplay
import assets.catalog
import assets.curation
import assets.exports
import assets.exports.monthly
import assets.outreach
import assets.rights
import assets.royalties
import assets.royalties.statement_defs
from assets.common.reference_checks import REFERENCE_CHECKS
from backbeat.settings import Settings
from orchestration.catalog_sensors import album_queue_sensor, catalog_ingest_job
from orchestration.column_schema import with_column_schemas
from orchestration.curation_schedules import CURATION_JOBS, CURATION_SCHEDULES
from orchestration.dbt import analytics_models
from orchestration.jobs import (
    analytics_job,
    curation_job,
    ledger_restatement_job,
    monthly_statements_job,
    reference_data_job,
    rights_job,
    royalty_adjustments_job,
    station_day_job,
)
from orchestration.resources import build_resources
from orchestration.schedules import daily_chain_schedule, monthly_statements_schedule
from orchestration.sensors import (
    analytics_automation_sensor,
    landing_chunks_sensor,
    ledger_restatement_sensor,
    rights_inbox_sensor,
    royalties_inbox_sensor,
)


def build_definitions(settings: Settings) -> Definitions:
    """All of Backbeat for one environment. DuckDB allows one writer process, so embedded runs stay in one.
    Every asset owning a declared warehouse table publishes its columns (`with_column_schemas`)."""
    executor = in_process_executor if settings.warehouse_kind == "duckdb" else multiprocess_executor
    merged = Definitions.merge(
        assets.catalog.defs,
        assets.airplay.defs,
        assets.rights.defs,
        assets.royalties.defs,
        assets.royalties.statement_defs.defs,
        assets.curation.defs,
        assets.outreach.defs,
        assets.exports.defs,
        assets.exports.monthly.defs,
        Definitions(
            assets=[analytics_models],
            asset_checks=REFERENCE_CHECKS,
            jobs=[
                reference_data_job,
                station_day_job,
                analytics_job,
                curation_job,
                rights_job,
                royalty_adjustments_job,
                ledger_restatement_job,
                monthly_statements_job,
                catalog_ingest_job,
                *CURATION_JOBS,
            ],
            schedules=[daily_chain_schedule, monthly_statements_schedule, *CURATION_SCHEDULES],
            sensors=[
                landing_chunks_sensor,
                analytics_automation_sensor,
                rights_inbox_sensor,
                royalties_inbox_sensor,
                ledger_restatement_sensor,
                album_queue_sensor,
            ],
            resources=build_resources(settings),
            executor=executor,
        ),
    )
    return with_column_schemas(merged)


defs = build_definitions(Settings.from_env())
