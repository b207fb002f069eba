"""The dbt project as Dagster shows it: groups by folder, typed columns, described checks, the docs overview,
row counts and column types fetched after a real run (DuckDB and PostgreSQL), and bounded target folders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections import Counter
from contextlib import closing
from pathlib import Path

from dagster import AssetKey, DagsterInstance, materialize
from dagster_dbt import DbtCliResource

from assets.analytics.dbt import KEEP_RUN_TARGETS, analytics_models, dbt_project
from assets.analytics.dbt_metadata import in_database, same_type
from backbeat.analytics.dbt_checks import describe_dbt_test
from backbeat.analytics.dbt_targets import prune_run_targets, run_target_dirs
from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR
from integrations.warehouse import WarehouseResource
from tests.dbt.test_dbt_project import SOURCE_ROWS, make_warehouse, source_ddl

MANIFEST = json.loads(Path(dbt_project.manifest_path).read_text())
MODELS = {n["name"]: n for n in MANIFEST["nodes"].values() if n["resource_type"] == "model"}


def spec(name: str):
    return analytics_models.specs_by_key[AssetKey(["analytics", name])]


# ---- Definitions: what the UI shows before any run ------------------------------------------------------


def test_models_take_the_group_of_their_folder():
    groups = Counter(spec(name).group_name for name in MODELS)
    assert groups == {
        "staging": 38,
        "intermediate": 3,
        "airplay": 5,
        "royalties": 5,
        "curation": 3,
        "catalog": 2,
        "rights": 2,
        "outreach": 4,
        "utilities": 1,
        "analytics": 6,
    }
    for name, node in MODELS.items():
        folder = node["fqn"][1:-1]  # ['staging', 'royalties'] (one folder per source) or ['marts', 'royalties']
        assert spec(name).group_name == ("staging" if folder[0] == "staging" else folder[-1]), name
        assert spec(name).key == AssetKey(["analytics", name])


def test_jobs_and_automation_select_the_dbt_models_by_key_not_group():
    from orchestration.definitions import defs

    repo = defs.get_repository_def()
    dbt_keys = set(analytics_models.keys)
    assert len(dbt_keys) == 69

    def selected(job_name: str) -> tuple[set[AssetKey], set[AssetKey]]:
        graph = repo.get_job(job_name).asset_layer.asset_graph
        assets = {k for k in graph.get_all_asset_keys() if graph.get(k).is_executable}
        checks = {c.asset_key for c in graph.asset_check_keys}
        return assets, checks

    assets, checks = selected("analytics_job")
    assert dbt_keys <= assets
    for job in ("reference_data_job", "rights_job"):  # groups catalog/rights now hold marts too
        assets, checks = selected(job)
        assert not assets & dbt_keys, job
        assert not checks & dbt_keys, job
        assert assets, job
    sensor = repo.get_sensor_def("analytics_automation_sensor")
    targeted = sensor.asset_selection.resolve(repo.asset_graph)
    assert dbt_keys <= targeted and AssetKey(["exports", "finance_export"]) in targeted


def test_every_column_has_a_type_before_any_run():
    schema = spec("fct_party_statements").metadata["dagster/column_schema"]
    types = {c.name: c.type for c in schema.columns}
    assert types["party_statement_id"] == "varchar"
    assert types["closing_minor"] == "bigint"
    assert types["period"] == "varchar"
    untyped = [
        f"{name}.{c.name}"
        for name in MODELS
        for c in spec(name).metadata["dagster/column_schema"].columns
        if c.type in ("?", "", None)
    ]
    assert not untyped
    assert sum(len(spec(name).metadata["dagster/column_schema"].columns) for name in MODELS) >= 560


def test_every_check_is_described():
    checks = {c.name: c for c in analytics_models.check_specs}
    assert len(checks) == sum(1 for n in MANIFEST["nodes"].values() if n["resource_type"] == "test") >= 240
    assert not [name for name, c in checks.items() if not (c.description or "").strip()]
    assert checks["not_null_fct_party_statements_closing_minor"].description == (
        "`closing_minor` of `fct_party_statements` is never null."
    )
    assert checks["unique_fct_plays_play_id"].description == (
        "`play_id` of `fct_plays` is unique: no value occurs twice."
    )
    assert checks["unique_combination_fct_ledger_lines_batch_id__line_no"].description == (
        "No two rows of `fct_ledger_lines` share the same (batch_id, line_no)."
    )
    assert checks["sums_to_zero_fct_ledger_batches_balance_minor__batch_id__currency"].description == (
        "`balance_minor` of `fct_ledger_batches` sums to 0 for each (batch_id, currency)."
    )
    warn = checks["relationships_fct_ledger_lines_play_id__play_id__ref_fct_plays_"]
    assert warn.description.startswith(
        "Every non-null `play_id` of `fct_ledger_lines` exists as `play_id` in `fct_plays`."
    )
    assert "does not block" in warn.description and not warn.blocking
    # singular tests take their description from tests/singular/_singular_tests.yml
    assert checks["assert_reversals_negate_their_batch"].description.startswith(
        "A reversal batch negates the batch it reverses"
    )
    accepted = [c for name, c in checks.items() if name.startswith("accepted_values_fct_playlist_sync_status")]
    assert accepted and "synced, refused, failed" in accepted[0].description


def test_describe_dbt_test_prefers_the_yml_description_and_names_sources():
    manifest = {"nodes": {"model.p.m": {"name": "m"}}}
    test = {
        "name": "t",
        "description": "",
        "attached_node": "model.p.m",
        "column_name": "c",
        "test_metadata": {
            "name": "relationships",
            "kwargs": {"to": "source('airplay', 'playlogs')", "field": "play_id"},
        },
    }
    assert describe_dbt_test(test, manifest) == "Every non-null `c` of `m` exists as `play_id` in `airplay.playlogs`."
    assert describe_dbt_test({**test, "description": "Plays are known."}, manifest) == "Plays are known."
    custom = {**test, "test_metadata": {"name": "is_positive", "kwargs": {}}}
    assert describe_dbt_test(custom, manifest) == (
        "dbt test `is_positive` on `c` of `m`: fails for every row its query returns."
    )


def test_docs_overview_replaces_the_welcome_page():
    overview = MANIFEST["docs"]["doc.backbeat.__overview__"]["block_contents"]
    for phrase in (
        "Where to start",
        "integer of minor units",
        "How a statement traces to plays",
        "fct_party_statements",
        "stg_royalties__statement_lines",
        "accounting_period",
        "fct_plays",
    ):
        assert phrase in overview, phrase
    grains = {name for name, node in MODELS.items() if name.startswith(("fct_", "dim_"))}
    assert not [g for g in grains if f"`{g}`" not in overview]  # every mart is listed with its grain


# ---- Target folders -------------------------------------------------------------------------------------


def fake_target(root: Path, name: str, age_s: float, now: float, size: int = 1000) -> Path:
    path = root / name
    path.mkdir(parents=True)
    (path / "dbt.log").write_bytes(b"x" * size)
    (path / "run_results.json").write_text("{}")
    for p in (path / "dbt.log", path / "run_results.json", path):
        os.utime(p, (now - age_s, now - age_s))
    return path


def test_prune_keeps_the_newest_and_any_folder_still_in_use(tmp_path):
    now = 1_800_000_000.0
    old = [fake_target(tmp_path, f"analytics_models-run{i:04d}-abcdef{i}", 3600 * (i + 1), now) for i in range(6)]
    running = fake_target(tmp_path, "analytics_models-busy000-1234567", 9 * 3600, now)
    recent_unknown = fake_target(tmp_path, "analytics_models-othr000-7654321", 60, now)
    unrelated = fake_target(tmp_path, "other_op-run0000-1111111", 99 * 3600, now)
    deleted = prune_run_targets(tmp_path, "analytics_models", keep=3, running=["busy000-full-run-id"], now=now)
    remaining = run_target_dirs(tmp_path, "analytics_models")
    # newest three (the recent one + old[0], old[1]) kept; the running one and another op's folders untouched
    assert remaining == [recent_unknown, old[0], old[1], running]
    assert sorted(deleted) == sorted(old[2:])
    assert unrelated.exists()


def test_prune_waits_for_unknown_runs_but_not_for_finished_ones(tmp_path):
    now = 1_800_000_000.0
    fresh = [fake_target(tmp_path, f"analytics_models-run{i:04d}-abcdef{i}", 10 * (i + 1), now) for i in range(6)]
    finished = [f"run{i:04d}-rest-of-the-id" for i in (3, 4)]  # runs of this instance that are over
    deleted = prune_run_targets(tmp_path, "analytics_models", keep=2, finished=finished, now=now)
    assert sorted(deleted) == sorted(fresh[3:5])  # fresh[2] and fresh[5]: unknown runs written 30 s / 60 s ago
    assert run_target_dirs(tmp_path, "analytics_models") == [fresh[0], fresh[1], fresh[2], fresh[5]]


# ---- A real run through Dagster -------------------------------------------------------------------------


def run_models(instance: DagsterInstance, warehouse_url: str, target: str):
    return materialize(
        [analytics_models],
        instance=instance,
        resources={
            "dbt": DbtCliResource(
                project_dir=str(DBT_PROJECT_DIR),
                profiles_dir=str(DBT_PROJECT_DIR),
                target=target,
                dbt_executable=DBT_EXECUTABLE,
            ),
            "warehouse": WarehouseResource(url=warehouse_url),
        },
    )


def materialized_metadata(result) -> dict[str, dict]:
    return {e.asset_key.path[-1]: e.materialization.metadata for e in result.get_asset_materialization_events()}


def declared_types_were_built(meta: dict[str, dict]) -> list[str]:
    """Columns whose built type differs from the yml's data_type (the event then shows the built type)."""
    drift = []
    for name, m in meta.items():
        built = {c.name.lower(): c.type for c in m["dagster/column_schema"].value.columns}
        declared = {c: v["data_type"] for c, v in MODELS[name]["columns"].items()}
        assert built.keys() == declared.keys(), name
        drift += [f"{name}.{c}: declared {t}, built {built[c]}" for c, t in declared.items() if built[c] != t]
    return drift


def test_built_types_match_declared_ones_under_their_other_names():
    assert same_type("varchar", "character varying(256)") and same_type("varchar", "text")
    assert same_type("timestamp", "timestamp without time zone") and same_type("double", "double precision")
    assert same_type("decimal(18,6)", "numeric(18,6)") and same_type("bigint", "BIGINT")
    assert not same_type("decimal(18,6)", "numeric(18,2)")
    assert not same_type("bigint", "integer") and not same_type("date", "timestamp")


def test_the_fetch_reads_the_database_the_run_built_in():
    moved = in_database(MANIFEST, "backbeat")
    assert moved["nodes"]["model.backbeat.fct_plays"]["relation_name"] == '"backbeat"."analytics"."fct_plays"'
    assert moved["sources"]["source.backbeat.airplay.playlogs"]["database"] == "backbeat"
    assert MANIFEST["nodes"]["model.backbeat.fct_plays"]["database"] == "warehouse"  # the loaded one is untouched


def test_a_run_reports_row_counts_and_types_releases_duckdb_and_prunes_targets(tmp_path, monkeypatch):
    # not named warehouse.duckdb, the file the shipped manifest was parsed for (DuckDB database `warehouse`)
    warehouse = tmp_path / "marts.duckdb"
    make_warehouse(warehouse)
    targets = tmp_path / "target"
    monkeypatch.setenv("DBT_TARGET_PATH", str(targets))  # dagster-dbt puts its per-run folders here
    now = time.time()
    earlier = [
        fake_target(targets, f"analytics_models-old{i:04d}-abcdef{i}", 3600 * (i + 1), now, size=10**6)
        for i in range(5)
    ]
    with DagsterInstance.ephemeral() as instance:
        result = run_models(instance, f"duckdb:///{warehouse}", "duckdb")
        assert result.success

    meta = materialized_metadata(result)
    assert len(meta) == 69
    assert meta["fct_party_statements"]["dagster/row_count"].value == 6
    assert meta["fct_plays"]["dagster/row_count"].value == 6
    assert meta["stg_airplay__plays"]["dagster/row_count"].value == 6  # a view, counted too
    assert not [name for name, m in meta.items() if "dagster/row_count" not in m]
    # the types dbt declares (the UI shows them before a run) are the types the run built
    assert declared_types_were_built(meta) == []
    # column lineage (dagster-dbt's, from the compiled SQL): fct_plays' columns come from the staged plays
    lineage = meta["fct_plays"]["dagster/column_lineage"].value.deps_by_column
    assert {dep.asset_key.path[-1] for deps in lineage.values() for dep in deps} >= {"int_plays_enriched"}

    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) >= 240 and all(e.passed for e in evaluations)

    # the metadata fetch closed its DuckDB connection: another process can write the warehouse
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; duckdb.connect(sys.argv[1]).execute('create table analytics.probe as select 1 as x')",
            str(warehouse),
        ],
        capture_output=True,
        text=True,
    )
    assert probe.returncode == 0, probe.stderr

    remaining = run_target_dirs(targets, "analytics_models")
    assert len(remaining) == KEEP_RUN_TARGETS
    (this_run,) = [p for p in remaining if p not in earlier]
    assert (this_run / "run_results.json").exists()
    assert remaining[1:] == earlier[: KEEP_RUN_TARGETS - 1]


def test_row_counts_and_types_on_postgresql(postgres_server, tmp_path, monkeypatch):
    import psycopg2

    url = postgres_server.create_database("dbt_in_dagster")
    with closing(psycopg2.connect(url)) as pg, pg, pg.cursor() as cur:  # commits, then closes
        cur.execute(source_ddl())
        cur.execute(SOURCE_ROWS)
    monkeypatch.setenv("DBT_TARGET_PATH", str(tmp_path / "target"))
    with DagsterInstance.ephemeral() as instance:
        result = run_models(instance, url, "postgres")
        assert result.success
    meta = materialized_metadata(result)
    assert meta["fct_party_statements"]["dagster/row_count"].value == 6
    assert meta["stg_airplay__plays"]["dagster/row_count"].value == 6
    assert not [name for name, m in meta.items() if "dagster/row_count" not in m]
    assert declared_types_were_built(meta) == []
