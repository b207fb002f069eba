"""The asset graph has no stubs: every table dbt reads is a real asset of its domain, and the export gates hold."""

import pytest
from dagster import AssetCheckKey, AssetKey, AssetMaterialization, evaluate_automation_conditions, instance_for_test

from backbeat.registry import DBT_SOURCE_TABLES
from backbeat.settings import Settings
from orchestration.definitions import build_definitions, defs

SIDE_TABLES = {  # table written in the same step as its writer's main table → (writer, group)
    "curation/playlist_plans": ("curation/playlist_plan", "curation"),
    "curation/snapshot_playlists": ("curation/playlist_snapshots", "curation"),
    "royalties/ledger_batches": ("royalties/royalty_ledger", "royalties"),
    "royalties/statement_lines": ("royalties/party_statements", "royalties"),
    "airplay/capture_gaps": ("airplay/stream_chunks", "airplay"),
    "airplay/station_day_status": ("airplay/stream_chunks", "airplay"),
}


def key(path: str) -> AssetKey:
    return AssetKey(path.split("/"))


@pytest.fixture(scope="module")
def repo():
    return defs.get_repository_def()


def test_no_asset_is_an_ungrouped_stub(repo):
    graph = repo.asset_graph
    stubs = [
        k.to_user_string()
        for k in graph.get_all_asset_keys()
        if not graph.get(k).is_materializable or graph.get(k).group_name in (None, "default")
    ]
    assert stubs == []


@pytest.mark.parametrize("table", sorted(SIDE_TABLES))
def test_side_tables_are_outputs_of_their_writer(repo, table):
    writer, group = SIDE_TABLES[table]
    graph = repo.asset_graph
    node = graph.get(key(table))
    assert node.is_materializable and not node.is_external
    assert node.group_name == group
    assert node.description.startswith("One row per"), node.description  # the grain comes first
    assert f"written by `{writer}`" in node.description
    assert "sql" in node.kinds
    assert node.partitions_def == graph.get(key(writer)).partitions_def
    assert repo.assets_defs_by_key[key(table)] is repo.assets_defs_by_key[key(writer)]  # one step writes both
    [declared] = [t for t in DBT_SOURCE_TABLES if f"{t.schema}/{t.name}" == table]  # what dbt's source says
    assert [c.name for c in node.metadata["dagster/column_schema"].columns] == declared.column_names
    # dbt's staging model still reads it under the same key
    stg = key(f"analytics/stg_{table.replace('/', '__')}")
    assert key(table) in graph.get(stg).parent_keys


def test_jobs_that_select_a_writer_select_its_tables(repo):
    selecting = set()
    for job in repo.get_all_jobs():
        selected = job.asset_layer.selected_asset_keys
        for table, (writer, _) in SIDE_TABLES.items():
            if key(writer) in selected:
                assert key(table) in selected, f"{job.name} selects {writer} without {table}"
                selecting.add(job.name)
    assert {
        "station_day_job",
        "ledger_restatement_job",
        "curation_job",
        "curation_plan_job",
        "curation_snapshots_job",
        "monthly_statements_job",
    } <= selecting


@pytest.mark.parametrize(
    ("staged", "check", "published", "job"),
    [
        (
            "exports/staged_finance_export",
            "finance_export_meets_expectations",
            "exports/finance_export",
            "analytics_job",
        ),
        (
            "exports/staged_monthly_finance_export",
            "monthly_finance_export_meets_expectations",
            "exports/monthly_finance_export",
            "monthly_statements_job",
        ),
    ],
)
def test_finance_exports_are_gated_by_a_blocking_check(repo, staged, check, published, job):
    graph = repo.asset_graph
    check_key = AssetCheckKey(key(staged), check)
    assert check_key in graph.asset_check_keys
    assert graph.get(check_key).blocking
    assert graph.get(key(published)).parent_keys == {key(staged)}  # publication reads nothing but the staging
    assert {graph.get(key(k)).group_name for k in (staged, published)} == {"exports"}
    selected = repo.get_job(job).asset_layer.selected_asset_keys
    assert {key(staged), key(published)} <= selected


def test_publication_is_only_requested_together_with_its_staging(tmp_path):
    """Automation never publishes on its own: staging, the blocking check and publication share one run."""
    defs_ = build_definitions(
        Settings.from_env({"BACKBEAT_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "home")})
    )
    graph = defs_.get_repository_def().asset_graph
    with instance_for_test() as instance:
        first = evaluate_automation_conditions(defs=defs_, instance=instance)
        for k in graph.get_all_asset_keys():
            if not graph.get(k).is_partitioned:
                instance.report_runless_asset_event(AssetMaterialization(k))
        settled = evaluate_automation_conditions(defs=defs_, instance=instance, cursor=first.cursor)
        quiet = evaluate_automation_conditions(defs=defs_, instance=instance, cursor=settled.cursor)
        assert quiet.total_requested == 0

        instance.report_runless_asset_event(AssetMaterialization(key("exports/staged_finance_export")))
        after = evaluate_automation_conditions(defs=defs_, instance=instance, cursor=quiet.cursor)
        assert {r.key for r in after.results if r.true_subset.size} == set()

        instance.report_runless_asset_event(AssetMaterialization(key("analytics/fct_ledger_lines")))
        updated = evaluate_automation_conditions(defs=defs_, instance=instance, cursor=after.cursor)
        requested = {r.key for r in updated.results if r.true_subset.size}
        assert {key("exports/staged_finance_export"), key("exports/finance_export")} <= requested
