"""dbt models as assets of the same graph: sources map onto the tables the domain assets write."""

import os
import subprocess
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from dagster import AssetExecutionContext, AssetKey, AutomationCondition
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from assets.registry import SOURCE_TABLES
from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_environment
from integrations.warehouse import WarehouseResource
from orchestration.automation import after_upstream_updates

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


def ensure_manifest(project: DbtProject = dbt_project) -> None:
    """Parse the dbt project when its manifest is missing or older than any of its files (a fresh clone, an
    edited model), or under `dagster dev`. `dbt parse` reads no warehouse, so the manifest serves both targets.
    """
    manifest = project.manifest_path
    if manifest.exists() and not os.environ.get("DAGSTER_IS_DEV_CLI"):
        built = manifest.stat().st_mtime
        sources = [p for folder in ("models", "macros", "tests") for p in (project.project_dir / folder).rglob("*")]
        sources += [project.project_dir / "dbt_project.yml", project.project_dir / "profiles.yml"]
        if all(p.stat().st_mtime <= built for p in sources if p.is_file()):
            return
    subprocess.run(
        [DBT_EXECUTABLE, "parse", "--quiet", "--project-dir", str(project.project_dir), "--profiles-dir",
         str(project.profiles_dir), "--target-path", str(project.target_path)],
        check=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


class BackbeatDbtTranslator(DagsterDbtTranslator):
    """Sources keep the keys of the assets that write them; models live under `analytics/`."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            return AssetKey([dbt_resource_props["source_name"], dbt_resource_props["name"]])
        return AssetKey(["analytics", dbt_resource_props["name"]])

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str:
        return "analytics"

    def get_automation_condition(self, dbt_resource_props: Mapping[str, Any]) -> AutomationCondition | None:
        return after_upstream_updates


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


ensure_manifest()


@dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=BackbeatDbtTranslator())
def analytics_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Staging views and marts built by `dbt build` (models and their tests) on the warehouse.

    Source tables whose assets have not run yet are created empty first, so a fresh warehouse builds.
    """
    warehouse.client().ensure(*SOURCE_TABLES)
    with dbt_env(warehouse.url):
        yield from dbt.cli(["build"], context=context).stream()
