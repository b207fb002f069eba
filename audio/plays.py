"""Merge per-chunk detections into plays: one row per time a station aired a track.

Consecutive chunks of one broadcast agree on where the song *started* (chunk start − position in the
track), even though each chunk sees a different part of it; that implied origin is what ties
detections together. A replay of the same song later has a different origin, so it stays separate.
"""

from __future__ import annotations

import polars as pl

from audio.matcher import DETECTION_SCHEMA

PLAY_SCHEMA: dict[str, pl.DataType] = {
    "station_id": pl.String(),
    "track_id": pl.String(),
    "start_utc": pl.Datetime("us"),
    "end_utc": pl.Datetime("us"),
    "duration_s": pl.Int64(),
    "confidence": pl.Float64(),
    "detection_count": pl.Int64(),
}


def _seconds(column: str) -> pl.Expr:
    return pl.duration(microseconds=(pl.col(column) * 1_000_000).round().cast(pl.Int64))


def merge_detections(
    detections: pl.DataFrame,
    *,
    min_play_s: float = 30.0,
    origin_tolerance_s: float = 3.0,
    max_gap_s: float = 35.0,
) -> pl.DataFrame:
    """Plays (``PLAY_SCHEMA``) from detections (``DETECTION_SCHEMA``), sorted by station and start.

    Detections of one station and track form a play when their implied origins agree within
    ``origin_tolerance_s`` (chained, sorted by origin) and their spans follow each other with gaps of
    at most ``max_gap_s``. A play starts at its earliest matched audio and ends at its latest;
    plays shorter than ``min_play_s`` are dropped. ``confidence`` is the best detection's: one
    unambiguous chunk is enough to know what was played.
    """
    missing = set(DETECTION_SCHEMA) - set(detections.columns)
    if missing:
        raise ValueError(f"detections lack columns {sorted(missing)}")
    if detections.is_empty():
        return pl.DataFrame(schema=PLAY_SCHEMA)

    spans = detections.cast(DETECTION_SCHEMA).select(
        "station_id",
        "track_id",
        "confidence",
        origin=pl.col("chunk_start_utc") - _seconds("track_offset_s"),
        span_start=pl.col("chunk_start_utc") + _seconds("query_start_s"),
        span_end=pl.col("chunk_start_utc") + _seconds("query_end_s"),
    )
    tolerance = pl.duration(microseconds=int(round(origin_tolerance_s * 1_000_000)))
    max_gap = pl.duration(microseconds=int(round(max_gap_s * 1_000_000)))
    key = ["station_id", "track_id"]

    # 1. Same broadcast of the song: origins chained within the tolerance.
    clustered = spans.sort(*key, "origin").with_columns(
        cluster=((pl.col("origin").diff().over(key) > tolerance).fill_null(False)).cum_sum().over(key)
    )
    # 2. Within one origin, split where nothing matched for longer than max_gap_s (lost chunks, a long
    #    talk-over): a play only claims airtime that was actually heard.
    group = [*key, "cluster"]
    segmented = clustered.sort(*group, "span_start").with_columns(
        segment=(
            (pl.col("span_start") - pl.col("span_end").cum_max().shift(1).over(group) > max_gap)
            .fill_null(False)
            .cum_sum()
            .over(group)
        )
    )
    plays = (
        segmented.group_by(*group, "segment")
        .agg(
            start=pl.col("span_start").min(),
            end=pl.col("span_end").max(),
            confidence=pl.col("confidence").max(),
            detection_count=pl.len().cast(pl.Int64),
        )
        .filter((pl.col("end") - pl.col("start")).dt.total_microseconds() >= min_play_s * 1_000_000)
        .with_columns(start_utc=pl.col("start").dt.round("1s"), end_utc=pl.col("end").dt.round("1s"))
    )
    return (
        plays.with_columns(duration_s=(pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds())
        .select(list(PLAY_SCHEMA))
        .cast(PLAY_SCHEMA)
        .sort("station_id", "start_utc", "track_id")
    )
