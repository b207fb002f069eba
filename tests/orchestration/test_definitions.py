"""The whole code location loads: keys, resources, jobs, schedules and sensors resolve together."""

from dagster import AssetKey

from assets.common.partitions import day_shard_partitions, shard_partitions
from backbeat.airplay.shard_migration import DAY_SHARD_ASSETS
from orchestration.definitions import defs


def test_code_location_loads_with_every_job_schedule_and_sensor():
    repo = defs.get_repository_def()
    assert {j.name for j in repo.get_all_jobs()} >= {
        "reference_data_job",
        "station_day_job",
        "analytics_job",
        "curation_job",
        "rights_job",
        "royalty_adjustments_job",
        "ledger_restatement_job",
        "monthly_statements_job",
    }
    assert {s.name for s in repo.schedule_defs} >= {"daily_chain_schedule", "monthly_statements_schedule"}
    assert {s.name for s in repo.sensor_defs} >= {
        "landing_chunks_sensor",
        "analytics_automation_sensor",
        "rights_inbox_sensor",
        "royalties_inbox_sensor",
        "ledger_restatement_sensor",
    }


def test_lineage_runs_from_catalog_to_finance_export():
    graph = defs.get_repository_def().asset_graph
    keys = graph.get_all_asset_keys()
    edges = [
        ("catalog/tracks", "airplay/reference_fingerprints"),
        ("airplay/reference_fingerprints", "airplay/detections"),
        ("airplay/stream_chunks", "airplay/detections"),
        ("airplay/detections", "airplay/playlogs"),
        ("airplay/playlogs", "royalties/royalty_ledger"),
        ("rights/splits", "royalties/royalty_ledger"),
        ("royalties/royalty_ledger", "analytics/stg_royalties__ledger_lines"),
        ("analytics/fct_ledger_lines", "exports/staged_finance_export"),
        ("exports/staged_finance_export", "exports/finance_export"),
        ("rights/split_sheet_lines", "rights/splits"),
        ("royalties/disputes", "royalties/royalty_ledger"),
        ("royalties/royalty_ledger", "royalties/party_statements"),
        ("royalties/party_statements", "exports/staged_monthly_finance_export"),
        ("exports/staged_monthly_finance_export", "exports/monthly_finance_export"),
    ]
    for upstream, downstream in edges:
        up, down = AssetKey(upstream.split("/")), AssetKey(downstream.split("/"))
        assert up in keys and down in keys
        assert up in graph.get(down).parent_keys, f"{upstream} should feed {downstream}"


def test_every_asset_has_a_description_and_a_group():
    graph = defs.get_repository_def().asset_graph
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_external:
            continue
        assert node.description and len(node.description) > 20, f"{key.to_user_string()} lacks a docstring"
        assert node.group_name != "default", f"{key.to_user_string()} has no group"


def test_the_airplay_and_ledger_assets_and_only_they_are_partitioned_by_day_and_shard():
    graph = defs.get_repository_def().asset_graph
    by_shard = {
        key.to_user_string()
        for key in graph.get_all_asset_keys()
        if not graph.get(key).is_external and graph.get(key).partitions_def == day_shard_partitions
    }
    assert by_shard == set(DAY_SHARD_ASSETS)  # what `backbeat partitions migrate-shards` migrates
    for name in by_shard:
        partitions = graph.get(AssetKey(name.split("/"))).partitions_def
        assert partitions is not None and sorted(partitions.partition_dimension_names) == ["date", "shard"]
    assert len(shard_partitions.get_partition_keys()) == 32  # static: nothing to register, no station partitions
