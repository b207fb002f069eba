"""A partial dbt build on PostgreSQL keeps every relation; the finance export refuses a warehouse missing one.

dbt-postgres replaces a relation by renaming it away and `drop ... cascade`, which takes the views reading it.
The production trial saw the automation sensor rebuild `stg_airplay__plays` and `stg_airplay__play_programs`
alone, and `analytics.int_plays_enriched` vanish (43 relations of 44). The sensor's run executes the dbt assets
as a subset of `analytics_models`; here the same subset runs through `materialize`, on a real PostgreSQL.
"""

from __future__ import annotations

import json
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
from dagster import AssetKey, DagsterInstance, materialize
from dagster_dbt import DbtCliResource

from assets.analytics.dbt import analytics_models, dbt_project
from assets.common.paths import DataDirResource
from assets.exports.assets import FINANCE_MARTS, staged_finance_export
from backbeat.analytics.dbt_lineage import upstream_models, views_dropped_with
from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR, dbt_environment
from integrations.warehouse import WarehouseResource
from tests.dbt.test_dbt_project import SOURCE_ROWS, failed_nodes, run_dbt, source_ddl

MANIFEST = json.loads(Path(dbt_project.manifest_path).read_text())
TRIAL_SUBSET = ["stg_airplay__plays", "stg_airplay__play_programs"]
"""What the analytics sensor requested in the production trial."""


def relations(url: str) -> set[str]:
    with closing(psycopg2.connect(url)) as pg, pg.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = 'analytics'")
        return {row[0] for row in cur.fetchall()}


def needed_models() -> list[str]:
    """The finance marts' lineage, and every model a test of the trial's subset (run by `dbt build`) reads."""
    subset = {f"model.backbeat.{name}" for name in TRIAL_SUBSET + views_dropped_with(MANIFEST, TRIAL_SUBSET)}
    tested = [
        parent.rsplit(".", 1)[-1]
        for uid, parents in MANIFEST["parent_map"].items()
        if uid.startswith("test.") and subset & set(parents)
        for parent in parents
    ]
    return upstream_models(MANIFEST, [*FINANCE_MARTS, *tested])


def test_views_dropped_with_a_rebuilt_relation_follow_views_only():
    assert views_dropped_with(MANIFEST, TRIAL_SUBSET) == ["int_plays_enriched"]
    # a table reading a replaced view keeps its rows: the walk stops there (fct_plays is not carried along)
    assert "fct_plays" not in views_dropped_with(MANIFEST, ["int_plays_enriched"])
    assert views_dropped_with(MANIFEST, ["fct_plays"]) == []  # nothing reads the mart through a view
    assert {"int_plays_enriched", "stg_airplay__plays"} <= set(upstream_models(MANIFEST, ["fct_plays"]))
    with pytest.raises(KeyError, match="not_a_model"):
        views_dropped_with(MANIFEST, ["not_a_model"])


def test_a_partial_build_keeps_every_relation_and_the_export_refuses_a_missing_one(
    postgres_server, tmp_path, monkeypatch
):
    url = postgres_server.create_database("partial_build")
    with closing(psycopg2.connect(url)) as pg, pg, pg.cursor() as cur:  # commits, then closes
        cur.execute(source_ddl())
        cur.execute(SOURCE_ROWS)
    for name, value in dbt_environment(url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    # what the daemon had built, as far as this test reads it (the whole project takes minutes on a busy machine)
    wanted = needed_models()
    built = run_dbt(["run", "--select", *wanted], tmp_path / "dbt")
    assert built.success, failed_nodes(built) or built.exception
    everything = relations(url)
    assert everything == set(wanted) and "int_plays_enriched" in everything

    with DagsterInstance.ephemeral() as instance:
        result = materialize(
            [analytics_models],
            selection=[AssetKey(["analytics", name]) for name in TRIAL_SUBSET],
            instance=instance,
            resources={
                "dbt": DbtCliResource(
                    project_dir=str(DBT_PROJECT_DIR),
                    profiles_dir=str(DBT_PROJECT_DIR),
                    target="postgres",
                    dbt_executable=DBT_EXECUTABLE,
                ),
                "warehouse": WarehouseResource(url=url),
            },
        )
    assert result.success
    assert sorted(e.asset_key.path[-1] for e in result.get_asset_materialization_events()) == sorted(TRIAL_SUBSET)
    assert relations(url) == everything  # int_plays_enriched was rebuilt with them, not dropped

    # without the carried views (dbt alone, as the trial's build ran) the view is gone ...
    bare = run_dbt(["run", "--select", *TRIAL_SUBSET], tmp_path / "dbt")
    assert bare.success, failed_nodes(bare) or bare.exception
    assert everything - relations(url) == {"int_plays_enriched"}

    # ... and the finance export fails, naming it, although every mart it reads is still there
    export = materialize(
        [staged_finance_export],
        resources={"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(tmp_path))},
        raise_on_error=False,
    )
    assert not export.success
    (failure,) = [e for e in export.all_events if e.is_step_failure]
    assert "analytics.int_plays_enriched" in str(failure.event_specific_data.error)
    assert not (tmp_path / "exports" / ".staging").exists()
