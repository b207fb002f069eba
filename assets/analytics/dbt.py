"""dbt models as assets of the same graph: sources map onto the tables the domain assets write."""

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from dagster import (
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetSpec,
    AutomationCondition,
    DagsterRunStatus,
    Output,
    RunsFilter,
)
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets.analytics.dbt_metadata import point_at_run_database, release_adapter, with_metadata
from assets.common.automation import after_upstream_updates
from assets.common.keys import ANALYTICS_PREFIX
from backbeat.analytics.dbt_checks import describe_dbt_test
from backbeat.analytics.dbt_lineage import views_dropped_with
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


def views_carried_along(context: AssetExecutionContext) -> list[str]:
    """The views a partial build must rebuild beside the selected models (empty for a full build).

    dbt-postgres replaces a relation with `drop ... cascade`, which drops the views reading it; a run that
    selects `stg_airplay__plays` alone would leave `int_plays_enriched` gone. Those views are added to dbt's
    selection; Dagster still records only the selected assets (the automation sensor then sees the views'
    upstream updated and requests them as usual).
    """
    selected = {key.path[-1] for key in context.selected_asset_keys if key.path[0] == ANALYTICS_PREFIX}
    every_key = context.assets_def.node_keys_by_output_name.values()  # `keys` holds only a subset's keys
    everything = {key.path[-1] for key in every_key if key.path[0] == ANALYTICS_PREFIX}
    if selected == everything:
        return []
    return [name for name in views_dropped_with(dbt_project_manifest(), sorted(selected)) if name not in selected]


@cache
def dbt_project_manifest() -> Mapping[str, Any]:
    """The project's parsed manifest (checked fresh at load by `require_manifest`), read once per process."""
    return json.loads(Path(dbt_project.manifest_path).read_text())


def selected_event(context: AssetExecutionContext, event: Any) -> bool:
    """Whether a dbt event belongs to the run's selection: the results of models carried along are only logged."""
    if isinstance(event, Output):
        key = context.asset_key_for_output(event.output_name)
        if key not in context.selected_asset_keys:
            context.log.info(f"rebuilt {key.to_user_string()} (carried along, not selected)")
            return False
    return True


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=BackbeatDbtTranslator())
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Staging views and marts built by `dbt build` (models and their tests) on the warehouse.

    Source tables whose assets have not run yet are created empty first, so a fresh warehouse builds. Each
    model reports its row count and column types; only the last few runs' dbt target folders are kept.
    """
    warehouse.client().ensure(*SOURCE_TABLES)
    carried = views_carried_along(context)
    if carried:
        context.log.info(
            f"also rebuilding {len(carried)} view(s) this partial build would otherwise drop: {', '.join(carried)}"
        )
    with dbt_env(warehouse.client().url):  # the separate password inserted
        invocation = dbt.cli(["build", *(["--select", " ".join(carried)] if carried else [])], context=context)
        try:
            point_at_run_database(invocation)
            yield from with_metadata(invocation, (e for e in invocation.stream() if selected_event(context, e)))
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
