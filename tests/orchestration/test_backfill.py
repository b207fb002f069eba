"""A backfill launched as the UI launches it materializes exactly the station-days asked for, in one run.

The UI's "Materialize selected → partitions" dialog previews the backfill (`assetBackfillPreview`) and launches it
with the `launchPartitionBackfill` mutation (asset selection + partition names); the backfill daemon then submits
the runs. Here the same GraphQL goes through an in-process workspace, and the daemon's iteration is called until
the backfill is done, with a run launcher that executes each run synchronously.
"""

import logging
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetKey,
    AssetSelection,
    DagsterEventType,
    DagsterInstance,
    DagsterRunStatus,
    DailyPartitionsDefinition,
    Definitions,
    IdentityPartitionMapping,
    RunsFilter,
    TimeWindowPartitionMapping,
    asset,
    asset_check,
    define_asset_job,
    definitions,
)
from dagster._core.execution.backfill import BulkActionStatus
from dagster._core.remote_origin import InProcessCodeLocationOrigin
from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
from dagster._core.types.loadable_target_origin import LoadableTargetOrigin
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import InProcessWorkspaceLoadTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster_graphql.test.utils import execute_dagster_graphql

from assets.common.partitions import one_run_per_partition, per_partition, range_backfill, station_day_key
from backbeat.demo import generate_demo
from backbeat.settings import Settings
from integrations.warehouse import Warehouse
from orchestration.definitions import build_definitions

STATION = "radio-north"
FIRST_DAY = date(2026, 11, 1)
DAYS = [FIRST_DAY + timedelta(days=i) for i in range(10)]  # 2026-11-01 … 2026-11-10
DEMO_DAY = date(2026, 11, 2)  # the generated demo's chunks are on this day
CHAIN_ROOTS = (
    ["airplay", "stream_chunks"],
    ["airplay", "detections"],
    ["airplay", "playlogs"],
    ["airplay", "play_programs"],
    ["royalties", "royalty_ledger"],
)
REQUESTED = {str(station_day_key(STATION, day)) for day in DAYS}
REFERENCE = AssetSelection.assets(
    ["airplay", "stations"],
    ["airplay", "reference_fingerprints"],
    ["airplay", "program_schedule"],
    ["airplay", "program_overrides"],
    ["royalties", "tariffs"],
).upstream()
"""What the chain reads besides its own partitions (rights are left empty: plays are credited to suspense)."""

PREVIEW = """query Preview($partitionNames: [String!]!, $assetKeys: [AssetKeyInput!]!) {
  assetBackfillPreview(params: {partitionNames: $partitionNames, assetSelection: $assetKeys}) {
    assetKey { path }
    partitions { partitionKeys ranges { start end } }
  }
}"""
LAUNCH = """mutation Launch($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on UnauthorizedError { message }
  }
}"""


@definitions
def backfill_defs() -> Definitions:
    """The code location, built from the environment the test sets (loaded by the workspace and by each run)."""
    return build_definitions(Settings.from_env())


def _copy_chunks(landing: Path, station: str, day: date) -> int:
    """Copies the demo's chunks of `station` to `day`, same times of day: another captured station-day."""
    copied = 0
    for path in sorted(landing.glob(f"{station}_{DEMO_DAY:%Y%m%d}T*")):
        shutil.copy(path, landing / path.name.replace(f"_{DEMO_DAY:%Y%m%d}T", f"_{day:%Y%m%d}T"))
        copied += 1
    return copied


@pytest.fixture
def backbeat(tmp_path, monkeypatch) -> Iterator[tuple[DagsterInstance, WorkspaceProcessContext, Settings]]:
    """Demo data with radio-north captured on 11-02 and 11-07 (in the range) and 11-11 (just after it), the
    reference data materialized, and a workspace whose runs are launched as soon as the daemon submits them and
    execute synchronously in this process."""
    data_dir = tmp_path / "data"
    generate_demo(data_dir, minutes_per_station=6, n_artists=6, n_tracks=8, tracks_with_audio=5)
    landing = data_dir / "landing"
    assert _copy_chunks(landing, STATION, date(2026, 11, 7)) > 0
    _copy_chunks(landing, STATION, date(2026, 11, 11))
    env = {"BACKBEAT_DATA_DIR": str(data_dir), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BACKBEAT_WAREHOUSE_URL", raising=False)
    settings = Settings.from_env()
    overrides = {
        "run_launcher": {
            "module": "dagster._core.launcher.sync_in_memory_run_launcher",
            "class": "SyncInMemoryRunLauncher",
        },
        "run_coordinator": {"module": "dagster._core.run_coordinator", "class": "DefaultRunCoordinator"},
    }
    with instance_for_test(overrides=overrides) as instance:
        defs = build_definitions(settings)
        reference = REFERENCE.resolve(defs.get_repository_def().asset_graph)
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance,
            asset_selection=list(reference),
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
        assert result.success
        origin = InProcessCodeLocationOrigin(
            LoadableTargetOrigin(
                python_file=__file__, attribute="backfill_defs", working_directory=str(Path(__file__).parents[2])
            )
        )
        with create_test_daemon_workspace_context(InProcessWorkspaceLoadTarget(origin), instance) as workspace:
            yield instance, workspace, settings


def _run_backfill(instance: DagsterInstance, workspace: WorkspaceProcessContext, backfill_id: str) -> None:
    """What the backfill daemon does, one iteration at a time, until the backfill is no longer requested."""
    logger = logging.getLogger("backfill")
    for _ in range(30):
        list(execute_backfill_iteration(workspace, logger))
        backfill = instance.get_backfill(backfill_id)
        assert backfill is not None
        if backfill.status != BulkActionStatus.REQUESTED:
            return
    raise AssertionError(f"backfill {backfill_id} still {backfill.status} after 30 daemon iterations")


def chain_keys(settings: Settings) -> list[AssetKey]:
    """The station-day chain as a person selects it in the asset graph: with every key of its multi-assets."""
    graph = build_definitions(settings).get_repository_def().asset_graph
    selection = AssetSelection.assets(*CHAIN_ROOTS).required_multi_asset_neighbors()
    return sorted(selection.resolve(graph), key=lambda k: k.to_user_string())


def backfill_outcome(
    instance: DagsterInstance, backfill_id: str, chain: list[AssetKey]
) -> tuple[list, dict[AssetKey, set[str]]]:
    """The backfill's runs, and the partitions each asset of the chain got a materialization for (from any run)."""
    runs = instance.get_runs(filters=RunsFilter(tags={"dagster/backfill": backfill_id}))
    materialized = {key: set(instance.get_materialized_partitions(key)) for key in chain}
    return runs, materialized


def test_ten_day_backfill_of_one_shard_materializes_exactly_those_days_in_one_run(backbeat):
    instance, workspace, settings = backbeat
    chain = chain_keys(settings)
    keys = [{"path": k.path} for k in chain]
    names = sorted(REQUESTED)
    context = workspace.create_request_context()

    preview = execute_dagster_graphql(context, PREVIEW, {"partitionNames": names, "assetKeys": keys}).data
    shown = {
        tuple(p["assetKey"]["path"]): set(p["partitions"]["partitionKeys"] or [])
        for p in preview["assetBackfillPreview"]
    }
    launched = execute_dagster_graphql(
        context,
        LAUNCH,
        {
            "backfillParams": {
                "assetSelection": keys,
                "partitionNames": names,
                "fromFailure": False,
                "tags": [{"key": "dagster/from_ui", "value": "true"}],
            }
        },
    ).data["launchPartitionBackfill"]
    assert launched["__typename"] == "LaunchBackfillSuccess", launched
    backfill_id = launched["backfillId"]

    _run_backfill(instance, workspace, backfill_id)

    # With no backfill policies, and playlogs declaring the neighbouring days of detections as upstream partitions,
    # this was 22 runs and 12 station-days of playlogs, play_programs and royalty_ledger (10-31 and 11-11 added).
    runs, materialized = backfill_outcome(instance, backfill_id, chain)
    assert instance.get_backfill(backfill_id).status == BulkActionStatus.COMPLETED_SUCCESS
    assert [r.status for r in runs] == [DagsterRunStatus.SUCCESS]
    (run,) = runs
    assert (run.tags["dagster/asset_partition_range_start"], run.tags["dagster/asset_partition_range_end"]) == (
        str(station_day_key(STATION, DAYS[0])),
        str(station_day_key(STATION, DAYS[-1])),
    )
    assert materialized == {key: REQUESTED for key in chain}
    assert shown == {tuple(key.path): REQUESTED for key in chain}  # the UI's preview says the same

    # The station-day checks ran in the same run, over the station-days their stage processed: capture every day of
    # the active station (10, two with chunks), the later stages the two days with chunks.
    checks = {
        e.dagster_event.event_specific_data.check_name: e.dagster_event.event_specific_data
        for e in instance.all_logs(run.run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION)
    }
    assert {"stream_chunks_are_unique_and_ordered", "playlogs_within_partition", "ledger_batches_balance"} <= set(
        checks
    )
    judged = {name: c for name, c in checks.items() if name != "stations_are_not_silent"}  # judged by its own job
    assert {name: (c.passed, c.metadata["station_days_checked"].value) for name, c in judged.items()} == {
        name: (True, len(DAYS) if name == "stream_chunks_are_unique_and_ordered" else 2) for name in judged
    }
    assert checks["stations_are_not_silent"].passed  # a run over past station-days does not judge the wall clock

    db = Warehouse(settings.warehouse_url)
    chunk_days = db.query("SELECT DISTINCT station_id, chunk_date FROM airplay.stream_chunks ORDER BY 2").rows()
    assert chunk_days == [(STATION, DEMO_DAY), (STATION, date(2026, 11, 7))]  # not 11-11, not radio-south
    play_days = db.query("SELECT play_date, count(*) AS n FROM airplay.playlogs GROUP BY 1 ORDER BY 1").rows()
    assert [d for d, _ in play_days] == [DEMO_DAY, date(2026, 11, 7)] and play_days[0][1] == play_days[1][1] > 0
    posted = db.query("SELECT DISTINCT posted_for FROM royalties.ledger_batches ORDER BY 1")["posted_for"].to_list()
    assert posted == [DEMO_DAY, date(2026, 11, 7)]


def test_a_range_run_checks_every_partition_and_names_the_failing_ones():
    days = DailyPartitionsDefinition(start_date="2026-11-01", timezone="UTC")

    @asset(partitions_def=days, backfill_policy=range_backfill)
    def numbers(context: AssetExecutionContext) -> None:
        """One number per day."""

    @asset_check(asset=numbers, partitions_def=days)
    @per_partition
    def numbers_are_even(context: AssetCheckExecutionContext) -> AssetCheckResult:
        """The day of the month is even (a check written for one partition)."""
        day = int(context.partition_key[-2:])
        return AssetCheckResult(passed=day % 2 == 0, metadata={"day": day})

    job = Definitions(
        assets=[numbers], asset_checks=[numbers_are_even], jobs=[define_asset_job("numbers_job", [numbers])]
    ).resolve_job_def("numbers_job")
    with instance_for_test() as instance:
        ranged = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            tags={
                "dagster/asset_partition_range_start": "2026-11-02",
                "dagster/asset_partition_range_end": "2026-11-05",
            },
        )
        single = job.execute_in_process(instance=instance, partition_key="2026-11-04")
    (evaluation,) = ranged.get_asset_check_evaluations()
    assert not evaluation.passed
    assert {k: v.value for k, v in evaluation.metadata.items()} == {
        "day": 3,
        "partition_shown": "2026-11-03",
        "partitions_checked": 4,
        "partitions_failing": 2,
        "failing_partitions": "- 2026-11-03\n- 2026-11-05",
    }
    (evaluation,) = single.get_asset_check_evaluations()
    assert evaluation.passed and {k: v.value for k, v in evaluation.metadata.items()} == {"day": 4}


def test_every_partitioned_asset_has_a_backfill_policy_and_reads_its_own_partitions_of_its_parents():
    graph = build_definitions(Settings.from_env()).get_repository_def().asset_graph
    partitioned = [graph.get(key) for key in graph.get_all_asset_keys() if graph.get(key).partitions_def]
    assert {node.key.to_user_string() for node in partitioned} >= {
        "airplay/stream_chunks",
        "airplay/playlogs",
        "royalties/royalty_ledger",
        "royalties/party_statements",
        "exports/monthly_finance_export",
        "curation/playlist_snapshots",
        "curation/playlist_sync",
    }
    # Each mailbox's inbox is its own source: a backfill of several mailboxes runs one sync per mailbox.
    one_per_partition = {"outreach/outcomes": one_run_per_partition}
    assert {node.key.to_user_string(): node.backfill_policy for node in partitioned} == {
        node.key.to_user_string(): one_per_partition.get(node.key.to_user_string(), range_backfill)
        for node in partitioned
    }
    widening = [
        (parent.to_user_string(), node.key.to_user_string())
        for node in partitioned
        for parent in node.parent_keys
        if graph.get(parent).partitions_def == node.partitions_def
        and not _same_partition(graph.get_partition_mapping(node.key, parent))
    ]
    assert widening == []  # a backfill of some partitions would pull in neighbouring ones


def _same_partition(mapping: object) -> bool:
    """Identity: a partition depends on the same partition of its parent, and a backfill stays where it was asked."""
    if isinstance(mapping, TimeWindowPartitionMapping):
        return mapping.start_offset == mapping.end_offset == 0
    return isinstance(mapping, IdentityPartitionMapping)
