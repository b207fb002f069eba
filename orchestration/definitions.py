"""The single entry point: every domain's definitions (assets, checks, jobs, schedules, sensors) merged with the
resources, the executor and the policy applied to all of them."""

from dagster import Definitions, in_process_executor, multiprocess_executor

import assets.airplay
import assets.analytics
import assets.catalog
import assets.curation
import assets.exports
import assets.outreach
import assets.reference
import assets.rights
import assets.royalties
from backbeat.settings import Settings
from orchestration.column_schema import with_column_schemas
from orchestration.resources import build_resources

DOMAINS = (
    assets.catalog,
    assets.airplay,
    assets.rights,
    assets.royalties,
    assets.curation,
    assets.outreach,
    assets.exports,
    assets.analytics,
    assets.reference,
)
"""Every package under assets/ that exports a `defs`; each holds its own jobs, schedules and sensors."""


def build_definitions(settings: Settings) -> Definitions:
    """All of Backbeat for one environment. DuckDB allows one writer process, so embedded runs stay in one.
    Every asset owning a declared warehouse table publishes its columns (`with_column_schemas`)."""
    executor = in_process_executor if settings.warehouse_kind == "duckdb" else multiprocess_executor
    merged = Definitions.merge(
        *(domain.defs for domain in DOMAINS),
        Definitions(resources=build_resources(settings), executor=executor),
    )
    return with_column_schemas(merged)


defs = build_definitions(Settings.from_env())
