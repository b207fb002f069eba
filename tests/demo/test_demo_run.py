"""`backbeat demo run` end to end on a small demo: the second morning's disputes, payout, the capture gap, the
connected Spotify accounts' tokens, the summary that reports each, and that the UI starts nothing afterwards.

One module-scoped run (2 stations x 12 minutes, 8 tracks with audio) through the real command, with the demo's
local Spotify and MusicBrainz stand-ins; every test reads its end state.
"""

from __future__ import annotations

import logging
import shutil
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
from click.testing import CliRunner
from dagster import AssetCheckKey, AssetKey, DagsterInstance, RunsFilter
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.test_utils import freeze_time
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.asset_daemon import AssetDaemon
from dagster._daemon.sensor import execute_sensor_iteration

from backbeat.cli import main
from backbeat.code_location import WORKSPACE_FILE
from backbeat.demo import generate_demo
from backbeat.demo.actions import second_morning
from backbeat.demo.gaps import GAP_REASON
from backbeat.demo.services import DEMO_SECRET_KEY
from backbeat.settings import Settings
from integrations.resilience import TokenStore
from integrations.spotify.playlists import token_name
from integrations.warehouse import Warehouse

SMALL = {"minutes_per_station": 12, "n_artists": 8, "n_tracks": 14, "tracks_with_audio": 8}
REPO = Path(__file__).parents[2]


@dataclass(frozen=True)
class DemoRun:
    data_dir: Path
    dagster_home: Path
    output: str

    @property
    def warehouse(self) -> Warehouse:
        return Warehouse(f"duckdb:///{self.data_dir / 'warehouse.duckdb'}")

    def summary(self) -> list[str]:
        return self.output.split("--- Backbeat demo summary ---\n", 1)[1].splitlines()


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    root = tmp_path_factory.mktemp("demo_run")
    data_dir, home = root / "data", root / "dagster_home"
    generate_demo(data_dir, **SMALL)
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("BACKBEAT_DATA_DIR", str(data_dir))
        patch.delenv("BACKBEAT_WAREHOUSE_URL", raising=False)
        result = CliRunner().invoke(main, ["demo", "run"])
        assert result.exit_code == 0, result.output + "".join(traceback.format_exception(*result.exc_info))
        yield DemoRun(data_dir, home, result.output)


def _check_passed(home: Path, asset: list[str], check: str) -> bool:
    with DagsterInstance.from_config(str(home)) as instance:
        history = instance.event_log_storage.get_asset_check_execution_history(
            AssetCheckKey(AssetKey(asset), check), limit=5
        )
        return bool(history) and all(r.event.dagster_event.event_specific_data.passed for r in history)


def test_one_dispute_is_upheld_and_not_paid_and_one_rejected_and_paid(demo_run: DemoRun) -> None:
    db = demo_run.warehouse
    disputes = db.query(
        "SELECT dispute_id, play_id, station_id, status, resolution FROM royalties.disputes ORDER BY dispute_id"
    ).rows()
    assert [(d, st, r) for d, _, _, st, r in disputes] == [
        ("D-DEMO-0001", "resolved", "rejected"),
        ("D-DEMO-0002", "resolved", "upheld"),
    ]
    (_, rejected_play, rejected_station, *_), (_, upheld_play, upheld_station, *_) = disputes
    plays = db.query("SELECT play_id, station_id, start_utc, end_utc FROM airplay.playlogs").with_columns(
        length=pl.col("end_utc") - pl.col("start_utc")
    )
    assert (
        rejected_station == "radio-north"
        and rejected_play
        == plays.filter(pl.col("station_id") == "radio-north").sort("start_utc", "play_id")["play_id"][0]
    )  # its earliest play
    assert upheld_play == plays.sort("length", "play_id")["play_id"][0]  # the shortest play of the day
    steps = db.query("SELECT dispute_id, status FROM royalties.dispute_events ORDER BY dispute_id, 2").rows()
    assert len(steps) == 10 and {s for _, s in steps} == {"pending", "verified", "resolving", "review", "resolved"}

    ledger = db.query(
        "SELECT batch_id, entry_kind, account, play_id, party_id, amount_minor FROM royalties.royalty_ledger"
    )
    assert ledger.group_by("batch_id").agg(pl.col("amount_minor").sum())["amount_minor"].unique().to_list() == [0]
    charges = ledger.filter(pl.col("account") == "station_receivable")

    def charged(play: str, kind: str | None = None) -> list[int]:
        rows = charges.filter(pl.col("play_id") == play)
        return (rows if kind is None else rows.filter(pl.col("entry_kind") == kind))["amount_minor"].to_list()

    # Upheld: posted the first morning, reversed by the restatement, not posted again: nothing charged, no credit.
    assert len(charged(upheld_play, "posting")) == 1 and charged(upheld_play, "posting")[0] > 0
    assert charged(upheld_play, "reversal") == [-charged(upheld_play, "posting")[0]]
    assert sum(charged(upheld_play)) == 0
    credits = ledger.filter((pl.col("play_id") == upheld_play) & (pl.col("account") != "station_receivable"))
    assert int(credits["amount_minor"].sum()) == 0
    reversed_days = db.query("SELECT station_id FROM royalties.ledger_batches WHERE reverses_batch_id IS NOT NULL")
    assert upheld_station in reversed_days["station_id"].to_list()
    # Rejected: paid as posted, and nothing is left on hold for either dispute.
    assert sum(charged(rejected_play)) == charged(rejected_play, "posting")[-1] > 0
    assert int(ledger.filter(pl.col("account") == "hold")["amount_minor"].sum()) == 0
    assert _check_passed(demo_run.dagster_home, ["royalties", "disputes"], "disputes_follow_step_order")


def test_a_payout_is_requested_approved_paid_and_posted_as_a_balanced_batch(demo_run: DemoRun) -> None:
    db = demo_run.warehouse
    rows = (demo_run.data_dir / "inbox" / "royalties" / "payout_requests.csv").read_text().splitlines()
    assert len(rows) == 4  # header, request, approval, payment
    amount_text = rows[1].split(",")[3]
    payout = db.query(
        "SELECT payout_id, party_id, currency, amount_minor, status, decided_by, paid_on, batch_id "
        "FROM royalties.payouts"
    ).rows(named=True)
    assert len(payout) == 1
    p = payout[0]
    amount = int(Decimal(amount_text) * 100)
    assert (p["payout_id"], p["status"], p["decided_by"], p["paid_on"], p["batch_id"], p["amount_minor"]) == (
        "P-DEMO-0001",
        "paid",
        "demo-finance",
        date(2026, 11, 3),
        "payout|P-DEMO-0001",
        amount,
    )
    assert amount > 0

    lines = db.query(
        "SELECT line_no, account, party_id, amount_minor, entry_kind, posted_for FROM "
        "royalties.royalty_ledger WHERE batch_id = 'payout|P-DEMO-0001' ORDER BY line_no"
    ).rows()
    assert lines == [
        (1, "party_payable", p["party_id"], amount, "payout", date(2026, 11, 3)),
        (2, "cash", p["party_id"], -amount, "payout", date(2026, 11, 3)),
    ]
    owed_after = -db.scalar(
        "SELECT CAST(sum(amount_minor) AS BIGINT) FROM royalties.royalty_ledger "
        "WHERE account = 'party_payable' AND party_id = ?",
        [p["party_id"]],
    )
    assert owed_after >= 0  # half the balance was paid: the party is not overpaid after the restatements
    # November's statement shows the payout; corrections posted later belong to the month they were posted in.
    statement = db.query(
        "SELECT payouts_minor, closing_minor FROM royalties.party_statements WHERE period = '2026-11' AND party_id = ?",
        [p["party_id"]],
    ).rows()
    owed_in_november = -db.scalar(
        "SELECT CAST(sum(amount_minor) AS BIGINT) FROM royalties.royalty_ledger WHERE "
        "account = 'party_payable' AND party_id = ? AND accounting_period <= '2026-11'",
        [p["party_id"]],
    )
    assert statement == [(-amount, owed_in_november)]
    assert _check_passed(demo_run.dagster_home, ["royalties", "payouts"], "paid_payouts_are_posted_once")


def test_the_recorders_capture_gap_is_stored(demo_run: DemoRun) -> None:
    gaps = demo_run.warehouse.query(
        "SELECT station_id, gap_date, gap_start_utc, gap_end_utc, seconds, reason, attempts FROM airplay.capture_gaps"
    ).rows()
    assert gaps == [
        (
            "radio-south",
            date(2026, 11, 2),
            datetime(2026, 11, 2, 14, 12),
            datetime(2026, 11, 2, 14, 12, 15),
            15.0,
            GAP_REASON,
            4,
        )
    ]


def test_connected_accounts_have_fresh_tokens_recorded_and_encrypted(demo_run: DemoRun) -> None:
    tokens = demo_run.warehouse.query(
        "SELECT account_id, status, expires_at, refreshed_at, error FROM curation.account_tokens ORDER BY account_id"
    ).rows()
    assert [(a, s, e) for a, s, _, _, e in tokens] == [
        ("label-dev", "ok", None),
        ("label-editorial", "ok", None),
        ("label-main", "ok", None),
    ]
    assert all(
        expires is not None and refreshed is not None and expires > refreshed for _, _, expires, refreshed, _ in tokens
    )
    store = TokenStore(demo_run.data_dir / "secrets" / "spotify", DEMO_SECRET_KEY)
    for account, *_ in tokens:
        assert b"demo-refresh" not in store.path(token_name(account)).read_bytes()  # encrypted at rest
        token = store.load(token_name(account))
        assert token["refresh_token"] == f"demo-refresh-{account}" and token["access_token"]


def test_the_summary_reports_each(demo_run: DemoRun) -> None:
    db = demo_run.warehouse
    summary = demo_run.summary()
    by_label = {line.split(":", 1)[0]: line for line in summary}
    (rejected_play, charge), (upheld_play,) = (
        db.query(
            "SELECT d.play_id, CAST(sum(l.amount_minor) AS BIGINT) FROM royalties.disputes d JOIN "
            "royalties.royalty_ledger l ON l.play_id = d.play_id AND l.account = 'station_receivable' "
            "WHERE d.resolution = 'rejected' GROUP BY d.play_id"
        ).row(0),
        db.query("SELECT play_id FROM royalties.disputes WHERE resolution = 'upheld'").row(0),
    )
    upheld_station = db.scalar("SELECT station_id FROM royalties.disputes WHERE resolution = 'upheld'")
    assert by_label["disputes"] == (
        f"disputes: D-DEMO-0001 resolved rejected (play {rejected_play} on radio-north, charged "
        f"{Decimal(charge).scaleb(-2)} EUR); D-DEMO-0002 resolved upheld (play {upheld_play} on {upheld_station}, "
        "charged 0.00 EUR)"
    )
    party, amount = db.query("SELECT party_id, amount_minor FROM royalties.payouts").row(0)
    assert by_label["payouts"] == (
        f"payouts: P-DEMO-0001 paid {Decimal(amount).scaleb(-2)} EUR to {party} on "
        "2026-11-03 (batch payout|P-DEMO-0001: 2 lines, balance 0)"
    )
    assert by_label["capture gaps"] == (
        f"capture gaps: radio-south 2026-11-02 14:12:00–14:12:15 (15.0 s, 4 failed reconnects: {GAP_REASON})"
    )
    assert by_label["Spotify account tokens"] == "Spotify account tokens: 3 ok (label-dev, label-editorial, label-main)"
    assert "on hold 0.00, balance 0 (must be 0)" in by_label["ledger EUR"]


def test_the_second_morning_is_not_repeated(demo_run: DemoRun) -> None:
    inbox = demo_run.data_dir / "inbox"
    before = {p: p.read_bytes() for p in inbox.rglob("*.csv")}
    settings = Settings.from_env({"BACKBEAT_DATA_DIR": str(demo_run.data_dir)})
    assert second_morning(demo_run.data_dir, Warehouse(settings.warehouse_url)) == []
    assert {p: p.read_bytes() for p in inbox.rglob("*.csv")} == before


DAEMON_LOG = logging.getLogger("test_demo_quiet_ui")


def one_daemon_tick(instance: DagsterInstance, at: float) -> dict[str, TickStatus]:
    """One iteration of the sensor daemon and of the asset daemon, past every sensor's minimum interval; the
    status of each sensor's newest tick."""
    with freeze_time(at), WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(WORKSPACE_FILE)])) as ws:
        list(execute_sensor_iteration(ws, DAEMON_LOG, threadpool_executor=None, submit_threadpool_executor=None))
        AssetDaemon(
            settings=instance.get_auto_materialize_settings(), pre_sensor_interval_seconds=30
        )._run_iteration_impl(ws, threadpool_executor=None, amp_tick_futures={}, debug_crash_flags={})
        sensors = [
            s
            for loc in ws.create_request_context().get_code_location_entries().values()
            for repo in loc.code_location.get_repositories().values()
            for s in repo.get_sensors()
        ]
    ticks = {}
    for sensor in sensors:
        newest = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id, limit=1)
        ticks[sensor.name] = newest[0].status if newest and newest[0].timestamp >= at - 1 else None
    return ticks


def test_after_the_demo_no_sensor_starts_a_run_until_a_new_chunk_lands(demo_run: DemoRun) -> None:
    """Issue 11, point 3: the daemons' own code ticks every sensor once against the workspace `make ui` loads (the
    sensor daemon's iteration and the asset daemon's, for the automation sensor): no run may be created. Then one
    new landing chunk must create exactly one. Last in this module: it adds a chunk and a run."""
    data_dir, home = demo_run.data_dir, demo_run.dagster_home
    with pytest.MonkeyPatch.context() as patch, DagsterInstance.from_config(str(home)) as instance:
        patch.setenv("DAGSTER_HOME", str(home))
        patch.setenv("BACKBEAT_DATA_DIR", str(data_dir))
        patch.delenv("BACKBEAT_WAREHOUSE_URL", raising=False)
        demo_runs = instance.get_runs()
        assert len(demo_runs) >= 10
        # every demo run belongs to the UI's code location, so it shows under its job and in the timeline
        assert {r.remote_job_origin.repository_origin.get_label() for r in demo_runs if r.remote_job_origin} == {
            "__repository__@backbeat"
        }
        assert [r.job_name for r in demo_runs if r.remote_job_origin is None] == []
        landing_runs = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "landing_chunks_sensor"}))
        assert sorted((r.tags["dagster/partition"], r.tags["backbeat/stations"]) for r in landing_runs) == [
            ("2026-11-02|s21", "radio-north"),  # each station's day × shard, for the station with new chunks
            ("2026-11-02|s22", "radio-south"),
        ]
        assert all(r.tags.get("dagster/run_key", "").startswith("landing|") for r in landing_runs)

        first = time.time() + 600
        ticks = one_daemon_tick(instance, first)
        assert instance.get_runs(RunsFilter(created_after=_utc(first - 600))) == []
        assert "analytics_automation_sensor" in ticks and "landing_chunks_sensor" in ticks
        assert {name: status for name, status in ticks.items() if status != TickStatus.SKIPPED} == {}, ticks

        landing = data_dir / "landing"
        shutil.copy(landing / "radio-south_20261102T141130Z.flac", landing / "radio-south_20261102T141200Z.flac")
        ticks = one_daemon_tick(instance, first + 600)
        new_runs = instance.get_runs(RunsFilter(created_after=_utc(first - 600)))
        assert [(r.job_name, r.tags["dagster/partition"], r.tags["backbeat/new_chunks"]) for r in new_runs] == [
            ("station_day_job", "2026-11-02|s22", "1")  # radio-south's day × shard
        ]
        assert new_runs[0].tags["dagster/sensor_name"] == "landing_chunks_sensor"
        assert ticks["landing_chunks_sensor"] == TickStatus.SUCCESS


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
