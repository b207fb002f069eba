"""Which stations have gone silent: no captured chunk for longer than a threshold (plain Python, no Dagster)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

SILENCE_SCHEMA = pl.Schema(
    {
        "station_id": pl.String(),
        "last_chunk_utc": pl.Datetime("us"),
        "silent_minutes": pl.Float64(),
        "silent": pl.Boolean(),
    }
)


def station_silence(
    stations: pl.DataFrame, last_chunks: pl.DataFrame, now: datetime, silent_after: timedelta
) -> pl.DataFrame:
    """One row per active station (`stations`: station_id, active): when its last chunk started
    (`last_chunks`: station_id, last_chunk_utc; naive UTC), for how many minutes it has been silent, and whether
    that is longer than `silent_after`. A station never captured is silent; loudest problem first."""
    active = stations.filter(pl.col("active").fill_null(True)).select("station_id").unique()
    joined = active.join(last_chunks.select("station_id", "last_chunk_utc"), on="station_id", how="left")
    minutes = (pl.lit(now) - pl.col("last_chunk_utc")).dt.total_seconds() / 60.0
    return (
        joined.with_columns(silent_minutes=minutes.cast(pl.Float64))
        .with_columns(
            silent=pl.col("silent_minutes").is_null() | (pl.col("silent_minutes") > silent_after.total_seconds() / 60)
        )
        .select(SILENCE_SCHEMA.names())
        .cast(SILENCE_SCHEMA)
        .sort(["silent", "silent_minutes", "station_id"], descending=[True, True, False], nulls_last=False)
    )


def fresh_until(report: pl.DataFrame, silent_after: timedelta) -> datetime | None:
    """When the first station that is not silent yet would become silent (None when none is captured)."""
    captured = report.filter(~pl.col("silent"))["last_chunk_utc"].drop_nulls()
    oldest = captured.min()
    return oldest + silent_after if isinstance(oldest, datetime) else None
