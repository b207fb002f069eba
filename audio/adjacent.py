"""Which chunk comes right before or after another on the same station.

A song detected in one chunk most likely plays on into the next chunk of its station, or began in the previous
one: that is where the matcher looks again, with every hash of that one track, when the first look at the
neighbour was cut short by its limits (``audio.matcher``, "neighbours").
"""

from __future__ import annotations

import polars as pl

ADJACENT_GAP_S = 2.0
"""Two chunks of a station are neighbours when the second starts within this many seconds of the first's end."""

CHUNKS_SCHEMA = pl.Schema(
    {"chunk_id": pl.String(), "station_id": pl.String(), "start_utc": pl.Datetime("us"), "seconds": pl.Float64()}
)
"""The chunks to pair: their station, start (naive UTC) and length."""


def neighbour_pairs(chunks: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """For each (chunk_id, track_id) row of ``found``, the chunks of ``chunks`` (``CHUNKS_SCHEMA``) that come
    right before and right after its chunk on its station, as (chunk_id, track_id) rows, each pair once; a
    chunk not in ``chunks`` has no neighbours, nor has one separated from the next by a gap (a capture outage).
    """
    ordered = chunks.sort("station_id", "start_utc", "chunk_id").with_columns(
        end_utc=pl.col("start_utc") + pl.duration(microseconds=(pl.col("seconds") * 1_000_000).cast(pl.Int64))
    )
    gap_us = int(ADJACENT_GAP_S * 1_000_000)
    following = ordered.with_columns(
        next_id=pl.col("chunk_id").shift(-1).over("station_id"),
        next_start=pl.col("start_utc").shift(-1).over("station_id"),
    ).filter(
        pl.col("next_id").is_not_null()
        & ((pl.col("next_start") - pl.col("end_utc")).dt.total_microseconds().abs() <= gap_us)
    )
    links = pl.concat(
        [
            following.select("chunk_id", neighbour="next_id"),
            following.select(chunk_id="next_id", neighbour="chunk_id"),
        ]
    )
    return (
        found.select("chunk_id", "track_id")
        .join(links, on="chunk_id")
        .select(chunk_id="neighbour", track_id="track_id")
        .unique(maintain_order=True)
    )
