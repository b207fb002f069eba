"""Freshness: silent stations fail a check that names them; the freshness policies and the check load with the
whole code location, without warnings."""

from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta

import polars as pl
from dagster import (
    AssetCheckKey,
    AssetKey,
    AssetSelection,
    Definitions,
    materialize,
)

from assets.airplay.assets import stream_chunks
from assets.analytics import freshness
from assets.analytics.freshness import FRESHNESS_POLICIES, stations_are_not_silent, with_freshness_policies
from backbeat.airplay.silence import fresh_until, station_silence
from backbeat.airplay.tables import STATIONS, STREAM_CHUNKS
from backbeat.settings import Settings
from integrations.warehouse import Warehouse, WarehouseResource
from orchestration.definitions import build_definitions

NOW = datetime(2026, 12, 5, 10, 20)
STATIONS_ON = ("radio-north", "radio-south")


def test_station_silence_names_silent_and_never_captured_stations():
    stations = pl.DataFrame({"station_id": ["a", "b", "c", "off"], "active": [True, True, None, False]})
    last = pl.DataFrame(
        {"station_id": ["a", "b"], "last_chunk_utc": [datetime(2026, 12, 5, 10, 0), datetime(2026, 12, 5, 9, 0)]}
    )
    report = station_silence(stations, last, NOW, timedelta(minutes=30))
    assert report.select("station_id", "silent").rows() == [("c", True), ("b", True), ("a", False)]
    assert report.filter(pl.col("station_id") == "b")["silent_minutes"].item() == 80.0
    assert fresh_until(report, timedelta(minutes=30)) == datetime(2026, 12, 5, 10, 30)


def chunk(station: str, start: datetime) -> dict:
    return {
        "chunk_id": f"{station}_{start:%Y%m%dT%H%M%SZ}",
        "station_id": station,
        "chunk_date": start.date(),
        "start_utc": start,
        "duration_s": 30.0,
        "path": "unused",
        "format": "flac",
        "size_bytes": 1,
    }


def test_a_silent_station_fails_the_check_by_name(tmp_path, monkeypatch):
    url = f"duckdb:///{tmp_path}/w.duckdb"
    db = Warehouse(url)
    db.replace(
        STATIONS,
        STATIONS.from_rows(
            [{"station_id": s, "name": s, "stream_url": None, "active": True, "timezone": "UTC"} for s in STATIONS_ON]
        ),
    )
    db.replace(STREAM_CHUNKS, STREAM_CHUNKS.from_rows([chunk("radio-north", NOW - timedelta(minutes=2))]))
    monkeypatch.setattr(freshness, "_utcnow", lambda: NOW)

    resources = {"warehouse": WarehouseResource(url=url), "data_dir": None}

    def evaluate():
        defs = Definitions(
            assets=[stream_chunks],
            asset_checks=[stations_are_not_silent],
            jobs=[freshness.station_silence_job],
            resources=resources,
        )
        result = defs.resolve_job_def(freshness.SILENCE_JOB).execute_in_process()
        (evaluation,) = result.get_asset_check_evaluations()
        return evaluation

    other_run = materialize(  # any other run (e.g. a station-day backfill) does not judge the wall clock
        [stream_chunks, stations_are_not_silent],
        selection=AssetSelection.checks(stations_are_not_silent),
        resources=resources,
    )
    (not_judged,) = other_run.get_asset_check_evaluations()
    assert not_judged.passed and not_judged.metadata["evaluated"].value.startswith("no: judged by station_silence_job")

    silent = evaluate()
    assert not silent.passed and silent.metadata["silent_stations"].value == 1
    assert "`radio-south`: never captured" in silent.metadata["silent"].value

    db.replace(
        STREAM_CHUNKS,
        STREAM_CHUNKS.from_rows(
            [chunk("radio-north", NOW - timedelta(minutes=2)), chunk("radio-south", NOW - timedelta(minutes=10))]
        ),
    )
    fine = evaluate()
    assert fine.passed and fine.metadata["silent_stations"].value == 0
    assert fine.metadata["fresh_until"].value == datetime(2026, 12, 5, 10, 40, tzinfo=UTC).timestamp()


def test_policies_and_the_silence_check_load_with_the_code_location_without_warnings(tmp_path):
    settings = Settings.from_env({"BACKBEAT_DATA_DIR": str(tmp_path), "DAGSTER_HOME": str(tmp_path / "home")})
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no supersession, beta or preview warning from what this module uses
        defs = with_freshness_policies(Definitions.merge(build_definitions(settings), freshness.defs))
        repo = defs.get_repository_def()
    graph = repo.asset_graph
    policies = {key: graph.get(key).freshness_policy for key in graph.get_all_asset_keys()}
    assert {key for key, policy in policies.items() if policy is not None} == set(FRESHNESS_POLICIES)
    assert policies[AssetKey(["airplay", "stream_chunks"])].fail_window.to_timedelta() == timedelta(minutes=30)
    assert policies[AssetKey(["exports", "finance_export"])].deadline_cron == "0 6 * * *"
    job = repo.get_job("station_silence_job")
    assert job.asset_layer.asset_graph.asset_check_keys == {
        AssetCheckKey(AssetKey(["airplay", "stream_chunks"]), "stations_are_not_silent")
    }
    assert repo.get_schedule_def("station_silence_schedule").cron_schedule == "*/5 * * * *"
    # the station-day runs that load chunks evaluate the check as well
    station_day = repo.get_job("station_day_job").asset_layer.asset_graph.asset_check_keys
    assert AssetCheckKey(AssetKey(["airplay", "stream_chunks"]), "stations_are_not_silent") in station_day
