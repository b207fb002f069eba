"""A small generated demo, and a way to run the whole graph through Dagster against a chosen warehouse."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import AssetCheckKey, AssetKey, DagsterInstance

from backbeat.demo import generate_demo
from backbeat.pipeline import PipelineReport, run_everything
from backbeat.scoring import read_ground_truth, score_plays
from backbeat.settings import Settings
from integrations.warehouse import Warehouse
from orchestration.definitions import build_definitions

DEMO_DAY = date(2026, 11, 2)


@pytest.fixture(scope="session")
def small_demo(tmp_path_factory) -> Path:
    """Demo data small enough for tests: 2 stations × 12 minutes, 8 tracks with audio."""
    data_dir = tmp_path_factory.mktemp("demo-template")
    generate_demo(data_dir, minutes_per_station=12, n_artists=8, n_tracks=14, tracks_with_audio=8)
    return data_dir


def copy_demo(template: Path, target: Path) -> Path:
    shutil.copytree(template, target)
    return target


@dataclass
class Backbeat:
    """One environment: a Dagster instance, a data dir and a warehouse, as the settings describe them."""

    settings: Settings
    instance: DagsterInstance

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(self.settings.warehouse_url)

    def run_everything(self) -> PipelineReport:
        defs = build_definitions(self.settings)
        return run_everything(defs, self.instance, curation_days=[DEMO_DAY], log=lambda _: None)

    def facts(self) -> dict[str, object]:
        """What a re-run must not change: counts and sums of every table that carries money or plays."""
        db = self.warehouse
        return {
            "plays": db.query(
                "SELECT play_id, station_id, track_id, start_utc, end_utc FROM airplay.playlogs ORDER BY play_id"
            ).rows(),
            "ledger": db.query(
                "SELECT batch_id, line_no, account, party_id, amount_minor "
                "FROM royalties.royalty_ledger ORDER BY batch_id, line_no"
            ).rows(),
            "detections": db.scalar("SELECT count(*) FROM airplay.detections"),
            "snapshots": db.query("SELECT * FROM curation.playlist_snapshots ORDER BY 1, 2, 3").rows(),
            "quarantine": db.scalar("SELECT count(*) FROM quarantine.rejected_rows"),
            "party_royalties": db.query("SELECT * FROM analytics.fct_party_royalties_daily ORDER BY 1, 2, 3").rows(),
        }

    def assert_demo_outcome(self) -> None:
        """Plays close to the ground truth, balanced ledger paying each play once, quarantine, export, checks."""
        bb = self
        db = bb.warehouse

        plays = db.query("SELECT station_id, track_id, start_utc, end_utc FROM airplay.playlogs")
        score = score_plays(plays, read_ground_truth(bb.settings.data_dir / "demo" / "ground_truth_plays.csv"))
        assert score.truth_plays >= 6
        assert score.recall >= 0.8, score
        assert score.precision >= 0.8, score

        ledger = db.query("SELECT batch_id, account, amount_minor FROM royalties.royalty_ledger")
        assert ledger.height > 0
        assert ledger.group_by("batch_id").agg(pl.col("amount_minor").sum())["amount_minor"].to_list() == [0, 0]
        assert ledger["amount_minor"].dtype == pl.Int64
        debits = ledger.filter(pl.col("account") == "station_receivable").height
        assert debits == plays.height  # every play paid exactly once

        programs = db.query("SELECT station_id, program_id, attribution FROM airplay.play_programs")
        assert programs.height == plays.height  # every play is attributed to a programme (or unscheduled)
        by_station = {s: set(g["program_id"].to_list()) for (s,), g in programs.group_by("station_id")}
        assert by_station == {"radio-north": {"morning-drive"}, "radio-south": {"afternoon-mix"}}  # local time
        assert db.scalar("SELECT CAST(sum(play_count) AS BIGINT) FROM analytics.fct_program_airplay") == plays.height

        rejected = db.query("SELECT asset, source_file, row_number, field, reason FROM quarantine.rejected_rows")
        contacts = rejected.filter(pl.col("asset") == "outreach/contacts")
        assert contacts.height == 4 and contacts["row_number"].null_count() == 0
        splits = rejected.filter(pl.col("asset") == "rights/splits")
        assert splits.filter(pl.col("reason").str.contains("sum to 90.00 %")).height == 1

        export = bb.settings.data_dir / "exports" / "finance"
        con = duckdb.connect(str(export / "finance.duckdb"), read_only=True)
        try:
            exported = con.execute("SELECT sum(amount_minor), count(*) FROM fct_ledger_lines").fetchone()
        finally:
            con.close()
        assert exported == (0, ledger.height)
        assert pl.read_parquet(export / "parquet" / "fct_ledger_batches.parquet")["balance_minor"].to_list() == [0, 0]

        instance = bb.instance
        for key in (
            ["royalties", "royalty_ledger"],
            ["airplay", "playlogs"],
            ["exports", "finance_export"],
            ["analytics", "fct_party_royalties_daily"],
            ["curation", "playlist_snapshots"],
            ["royalties", "ledger_batches"],
            ["royalties", "statement_lines"],
            ["curation", "playlist_plans"],
            ["curation", "snapshot_playlists"],
            ["exports", "monthly_finance_export"],
        ):
            assert instance.get_latest_materialization_event(AssetKey(key)) is not None, key
        for asset, check in (
            (["royalties", "royalty_ledger"], "ledger_batches_balance"),
            (["royalties", "royalty_ledger"], "ledger_pays_every_play_once"),
            (["airplay", "playlogs"], "playlogs_within_partition"),
            (["catalog", "tracks"], "tracks_have_unique_ids_and_isrcs"),
            (["airplay", "detections"], "detections_are_unique_and_known"),
            (["airplay", "reference_fingerprints"], "fingerprint_index_covers_catalog_audio"),
            (["rights", "splits"], "approved_splits_sum_to_full_share"),
            (["outreach", "contacts"], "contacts_have_unique_emails"),
            (["curation", "playlist_snapshots"], "snapshots_respect_their_policies"),
            (["exports", "staged_finance_export"], "finance_export_meets_expectations"),
            (["exports", "staged_monthly_finance_export"], "monthly_finance_export_meets_expectations"),
            (["analytics", "fct_ledger_batches"], "sums_to_zero_fct_ledger_batches_balance_minor__batch_id__currency"),
        ):
            history = instance.event_log_storage.get_asset_check_execution_history(
                AssetCheckKey(AssetKey(asset), check), limit=5
            )
            assert history, check
            assert all(r.event.dagster_event.event_specific_data.passed for r in history), check


@contextmanager
def _embedded(small_demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Backbeat]:
    data_dir = copy_demo(small_demo, tmp_path / "data")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[2] / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    env = {"DAGSTER_HOME": str(home), "BACKBEAT_DATA_DIR": str(data_dir)}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("BACKBEAT_WAREHOUSE_URL", raising=False)
    with DagsterInstance.from_config(str(home)) as instance:
        yield Backbeat(Settings.from_env(env), instance)


@pytest.fixture
def embedded_backbeat(small_demo, tmp_path, monkeypatch) -> Iterator[Backbeat]:
    """The embedded default: local Dagster instance, DuckDB warehouse, Parquet under the data dir."""
    with _embedded(small_demo, tmp_path, monkeypatch) as backbeat:
        yield backbeat


@pytest.fixture(scope="module")
def materialized_backbeat(small_demo, tmp_path_factory) -> Iterator[tuple[Backbeat, PipelineReport]]:
    """The embedded default with the whole graph materialized once, and that run's report, shared by a module's
    tests: each whole-graph run takes about a minute and a half."""
    root = tmp_path_factory.mktemp("materialized")
    with pytest.MonkeyPatch.context() as monkeypatch, _embedded(small_demo, root, monkeypatch) as backbeat:
        yield backbeat, backbeat.run_everything()


@pytest.fixture
def postgres_backbeat(small_demo, tmp_path, monkeypatch, postgres_server) -> Iterator[Backbeat]:
    """Production mode: Dagster instance storage (dagster-postgres) and warehouse on a real PostgreSQL."""
    data_dir = copy_demo(small_demo, tmp_path / "data")
    warehouse_url = postgres_server.create_database("backbeat_warehouse")
    postgres_server.create_database("backbeat_dagster")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[2] / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    env = {
        "DAGSTER_HOME": str(home),
        "BACKBEAT_DATA_DIR": str(data_dir),
        "BACKBEAT_WAREHOUSE_URL": warehouse_url,
        "DAGSTER_PG_USERNAME": postgres_server.user,
        "DAGSTER_PG_PASSWORD": postgres_server.password,
        "DAGSTER_PG_HOST": postgres_server.host,
        "DAGSTER_PG_PORT": str(postgres_server.port),
        "DAGSTER_PG_DB": "backbeat_dagster",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with DagsterInstance.from_config(str(home)) as instance:
        yield Backbeat(Settings.from_env(env), instance)
