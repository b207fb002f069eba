"""A play across midnight is counted once, on the day it starts, with its true end."""

from datetime import date, datetime, timedelta

import polars as pl
from dagster import instance_for_test, materialize

from assets.airplay.assets import playlogs
from assets.common.partitions import station_day_key
from backbeat.airplay.tables import DETECTIONS, PLAYLOGS
from integrations.warehouse import Warehouse, WarehouseResource

DAY = date(2026, 11, 2)


def detections_of_play(track: str, origin: datetime, chunks: int) -> list[dict]:
    """Detections of a play starting at `origin`, in consecutive 30 s chunks aligned to the half minute."""
    first = origin.replace(second=origin.second // 30 * 30)
    rows = []
    for i in range(chunks):
        chunk_start = first + timedelta(seconds=30 * i)
        offset = (chunk_start - origin).total_seconds()
        rows.append(
            {
                "chunk_id": f"s_{chunk_start:%Y%m%dT%H%M%SZ}",
                "station_id": "s",
                "chunk_date": chunk_start.date(),
                "chunk_start_utc": chunk_start,
                "track_id": track,
                "track_offset_s": offset,
                "query_start_s": max(0.0, -offset),
                "query_end_s": 30.0,
                "score": 400,
                "confidence": 0.9,
                "speed": 1.0,
                "runner_up_track_id": None,
                "runner_up_confidence": None,
            }
        )
    return rows


def test_play_across_midnight_is_counted_once_with_its_true_end(tmp_path):
    db = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    rows = detections_of_play("T1", datetime(2026, 11, 2, 23, 59, 0), 5)  # 23:59:00 → 00:01:30
    rows += detections_of_play("T2", datetime(2026, 11, 3, 0, 10, 0), 4)
    rows += detections_of_play("T3", datetime(2026, 11, 2, 12, 0, 0), 4)
    db.replace(DETECTIONS, DETECTIONS.from_rows(rows))
    resources = {"warehouse": WarehouseResource(url=db.url)}
    with instance_for_test() as instance:
        for day in (DAY, DAY + timedelta(days=1), DAY):
            result = materialize(
                [playlogs], partition_key=station_day_key("s", day), instance=instance, resources=resources
            )
            assert result.success
    plays = db.read(PLAYLOGS).sort("start_utc")
    assert plays.select("track_id", "play_date", "start_utc", "end_utc", "duration_s").rows() == [
        ("T3", DAY, datetime(2026, 11, 2, 12, 0), datetime(2026, 11, 2, 12, 2), 120),
        ("T1", DAY, datetime(2026, 11, 2, 23, 59), datetime(2026, 11, 3, 0, 1, 30), 150),
        ("T2", DAY + timedelta(days=1), datetime(2026, 11, 3, 0, 10), datetime(2026, 11, 3, 0, 12), 120),
    ]
    assert plays.filter(pl.col("track_id") == "T1").height == 1
