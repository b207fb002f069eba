"""dbt models as assets of the same graph: sources map onto the tables the domain assets write."""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AutomationCondition,
    DagsterRunStatus,
    RunsFilter,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets.analytics.dbt_metadata import enrich_model_event, point_at_run_database, release_adapter
from assets.common.automation import after_upstream_updates
from assets.common.keys import ANALYTICS_PREFIX
from backbeat.analytics.dbt_checks import describe_dbt_test
from backbeat.analytics.dbt_manifest import require_manifest
from backbeat.analytics.dbt_targets import prune_run_targets
from backbeat.registry import SOURCE_TABLES
from backbeat.settings import DBT_PROJECT_DIR, dbt_environment
from integrations.warehouse import WarehouseResource

# Per-run dbt target folders kept under dbt_project/target (each 8-13 MB); older ones are deleted after a run.
KEEP_RUN_TARGETS = 3
RECENT_RUNS = 500  # finished runs whose folders may go at once; unknown ones wait until idle for 10 minutes
FALLBACK_GROUP = "analytics"

# As in Dagster's dbt examples: `dagster dev` re-parses on load; elsewhere `backbeat dbt parse` (run by
# `make setup`) builds the manifest beforehand, and a missing or stale one stops the load with that hint.
dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()
require_manifest(dbt_project)


class BackbeatDbtTranslator(DagsterDbtTranslator):
    """Sources keep the keys of the assets that write them; models keep keys under `analytics/` and take the
    Dagster group `dbt_project.yml` gives their folder (`meta.dagster.group`: staging, intermediate, or the
    mart's business domain). dbt tests become checks described in words."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey([ANALYTICS_PREFIX, dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return super().get_group_name(dbt_resource_props) or FALLBACK_GROUP

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        return after_upstream_updates

    def get_asset_check_spec(
        self, asset_spec: AssetSpec, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None
    ) -> AssetCheckSpec | None:
        spec = super().get_asset_check_spec(asset_spec, manifest, unique_id, project)
        if spec is None:
            return None
        return spec._replace(description=describe_dbt_test(manifest["nodes"][unique_id], manifest))


@contextmanager
def dbt_env(warehouse_url: str) -> Iterator[None]:
    """Point profiles.yml at the run's warehouse for the duration of one dbt invocation."""
    values = dbt_environment(warehouse_url)
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, old in saved.items():
            if old is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = old


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=BackbeatDbtTranslator())
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Staging views and marts built by `dbt build` (models and their tests) on the warehouse.

    Source tables whose assets have not run yet are created empty first, so a fresh warehouse builds. Each
    model reports its row count and column types; only the last few runs' dbt target folders are kept.
    """
    warehouse.client().ensure(*SOURCE_TABLES)
    with dbt_env(warehouse.url):
        invocation = dbt.cli(["build"], context=context)
        try:
            point_at_run_database(invocation)
            for event in invocation.stream().fetch_row_counts().fetch_column_metadata():
                yield enrich_model_event(invocation, event)
        finally:
            release_adapter(invocation)
            running = {
                *context.instance.get_run_ids(
                    RunsFilter(
                        statuses=[
                            DagsterRunStatus.NOT_STARTED,
                            DagsterRunStatus.QUEUED,
                            DagsterRunStatus.STARTING,
                            DagsterRunStatus.STARTED,
                            DagsterRunStatus.CANCELING,
                        ]
                    )
                ),
                context.run.run_id,
            }
            finished = set(context.instance.get_run_ids(limit=RECENT_RUNS)) - running
            for path in prune_run_targets(
                invocation.target_path.parent, context.op_execution_context.op.name, KEEP_RUN_TARGETS, running, finished
            ):
                context.log.debug(f"deleted old dbt target folder {path.name}")
