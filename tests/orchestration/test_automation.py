"""After a day × shard's plays and ledger update, the dbt marts and the finance export are requested."""

from dagster import AssetKey, AssetMaterialization, evaluate_automation_conditions, instance_for_test

from assets.common.partitions import station_day_key
from backbeat.settings import Settings
from orchestration.definitions import build_definitions


def test_marts_and_export_follow_upstream_updates(tmp_path):
    settings = Settings.from_env({"BACKBEAT_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "home")})
    defs = build_definitions(settings)
    with instance_for_test() as instance:
        everything_done = [AssetKey(["analytics", n]) for n in ("fct_plays", "fct_ledger_lines")] + [
            AssetKey(["exports", "staged_finance_export"]),
            AssetKey(["exports", "finance_export"]),
        ]  # one run
        first = evaluate_automation_conditions(defs=defs, instance=instance)
        for key in defs.get_repository_def().asset_graph.get_all_asset_keys():  # everything materialized once
            if not defs.get_repository_def().asset_graph.get(key).is_partitioned:
                instance.report_runless_asset_event(AssetMaterialization(key))
        settled = evaluate_automation_conditions(defs=defs, instance=instance, cursor=first.cursor)
        quiet = evaluate_automation_conditions(defs=defs, instance=instance, cursor=settled.cursor)
        assert quiet.total_requested == 0

        for key in (["airplay", "playlogs"], ["royalties", "royalty_ledger"]):
            instance.report_runless_asset_event(
                AssetMaterialization(key, partition=str(station_day_key("radio-north", "2026-11-02")))
            )
        after = evaluate_automation_conditions(defs=defs, instance=instance, cursor=quiet.cursor)
        requested = {r.key for r in after.results if r.true_subset.size}
        assert AssetKey(["analytics", "stg_airplay__plays"]) in requested
        assert AssetKey(["analytics", "stg_royalties__ledger_lines"]) in requested
        assert set(everything_done) <= requested
        assert AssetKey(["catalog", "tracks"]) not in requested
