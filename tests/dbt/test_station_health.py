"""The station health mart: last chunk, gaps, matches and plays per captured hour, and scan status per station.

Built by dbt (in-process, DuckDB) with its upstream models on a small warehouse: stations, plays, chunks, gaps and
detections chosen so each scan status occurs: S1 captured and matched up to its last day, S2 captured a day its
chunks have not been matched yet, S3 never captured.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dbt.cli.main import dbtRunner

from backbeat.airplay.tables import CAPTURE_GAPS, DETECTIONS, STREAM_CHUNKS
from integrations.warehouse import Warehouse
from tests.dbt.test_dbt_project import failed_nodes, source_ddl

PROJECT_DIR = Path(__file__).resolve().parents[2] / "dbt_project"
SOURCES = """
insert into airplay.stations values
    ('S1', 'Radio Un', 'http://radio-un.example/stream', true, 'Europe/Paris'),
    ('S2', 'Beat FM', 'http://beat.example/live', true, 'America/New_York'),
    ('S3', 'Radio Trois', null, true, 'UTC');
insert into airplay.playlogs (play_id, station_id, track_id, play_date, start_utc, end_utc, duration_s,
    confidence, detection_count, speed, runner_up_track_id, runner_up_confidence) values
    ('PL1', 'S1', 'T1', '2024-06-01', '2024-06-01 08:00:00', '2024-06-01 08:03:00', 180, 0.97, 12, 1.0, null, null),
    ('PL2', 'S1', 'T2', '2024-06-01', '2024-06-01 08:10:00', '2024-06-01 08:13:20', 200, 0.91, 14, 1.0, null, null),
    ('PL3', 'S1', 'T1', '2024-06-02', '2024-06-02 08:05:00', '2024-06-02 08:08:00', 180, 0.88, 8, 1.0, null, null),
    ('PL4', 'S2', 'T2', '2024-06-01', '2024-06-01 09:02:00', '2024-06-01 09:04:00', 120, 0.95, 7, 1.0, null, null);
"""


def chunk(station: str, start: str) -> dict:
    at = datetime.fromisoformat(start)
    return {
        "chunk_id": f"{station}_{at:%Y%m%dT%H%M%SZ}",
        "station_id": station,
        "chunk_date": at.date(),
        "start_utc": at,
        "duration_s": 1800.0,  # half an hour each keeps the per-hour figures round
        "path": f"landing/{station}/{at:%Y%m%dT%H%M%SZ}.flac",
        "format": "flac",
        "size_bytes": 1000,
    }


def detection(chunk_row: dict, track: str) -> dict:
    return {
        "chunk_id": chunk_row["chunk_id"],
        "station_id": chunk_row["station_id"],
        "chunk_date": chunk_row["chunk_date"],
        "chunk_start_utc": chunk_row["start_utc"],
        "track_id": track,
        "confidence": 0.9,
    }


@pytest.fixture(scope="module")
def health(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("station_health")
    path = tmp / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(source_ddl())
        con.execute(SOURCES)
    db = Warehouse(f"duckdb:///{path}")
    s1 = [chunk("S1", "2024-06-01 08:00:00"), chunk("S1", "2024-06-02 08:00:00")]
    s2 = [chunk("S2", "2024-06-01 09:00:00"), chunk("S2", "2024-06-02 09:00:00"), chunk("S2", "2024-06-03 09:00:00")]
    db.replace(STREAM_CHUNKS, STREAM_CHUNKS.from_rows(s1 + s2))
    found = [detection(s1[0], "T1"), detection(s1[0], "T2"), detection(s1[1], "T1"), detection(s2[0], "T2")]
    db.replace(
        DETECTIONS,
        DETECTIONS.conform(
            pl.DataFrame(found).with_columns(
                *(pl.lit(None).alias(c) for c in DETECTIONS.column_names if c not in found[0])
            )
        ),
    )
    gaps = [
        {
            "station_id": "S2",
            "gap_date": datetime(2024, 6, 1).date(),
            "gap_start_utc": datetime(2024, 6, 1, 9, 30),
            "gap_end_utc": datetime(2024, 6, 1, 10, 0),
            "seconds": 1800.0,
            "reason": "connection reset",
            "attempts": 3,
        },
        {
            "station_id": "S2",
            "gap_date": datetime(2024, 6, 2).date(),
            "gap_start_utc": datetime(2024, 6, 2, 9, 30),
            "gap_end_utc": datetime(2024, 6, 2, 9, 45),
            "seconds": 900.0,
            "reason": "HTTP 503 (x3)",
            "attempts": 3,
        },
    ]
    db.replace(CAPTURE_GAPS, CAPTURE_GAPS.from_rows(gaps))
    target = tmp / "target"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(path))
        mp.setenv("DBT_INDIRECT_SELECTION", "cautious")  # only the tests whose models all build here
        result = dbtRunner().invoke(
            [
                "build",
                "--select",
                "+fct_station_health",
                "--project-dir",
                str(PROJECT_DIR),
                "--profiles-dir",
                str(PROJECT_DIR),
                "--target-path",
                str(target),
                "--log-path",
                str(target / "logs"),
            ]
        )
    assert result.success, failed_nodes(result) or result.exception
    frame = db.query("select * from analytics.fct_station_health order by station_id")
    return {row["station_id"]: row for row in frame.iter_rows(named=True)}


def test_one_row_per_station_with_its_scan_status(health):
    assert {s: r["scan_status"] for s, r in health.items()} == {"S1": "current", "S2": "behind", "S3": "never_captured"}


def test_last_chunk_gaps_and_rates(health):
    s1, s2, s3 = health["S1"], health["S2"], health["S3"]
    assert s1["last_chunk_at_utc"] == datetime(2024, 6, 2, 8, 0) and s1["chunk_count"] == 2
    assert s1["captured_hours"] == 1.0 and s1["detection_count"] == 3 and s1["matches_per_hour"] == 3.0
    assert (s2["gap_count"], s2["gap_hours"], s2["last_gap_reason"]) == (2, 0.75, "HTTP 503 (x3)")
    assert s2["last_gap_at_utc"] == datetime(2024, 6, 2, 9, 30)
    assert s2["captured_hours"] == 1.5 and s2["matches_per_hour"] == pytest.approx(1 / 1.5)
    assert (s1["play_count"], s1["plays_per_hour"], s1["last_play_at_utc"]) == (3, 3.0, datetime(2024, 6, 2, 8, 5))
    assert s3["chunk_count"] == 0 and s3["matches_per_hour"] is None and s3["last_chunk_at_utc"] is None
