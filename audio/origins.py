"""A song's start on air (its *origin*), as one detection implies it.

A detection says that ``track_offset_s`` seconds into the track were playing at the start of its chunk, and that
the song runs ``speed`` seconds of track per second of broadcast, so the song began ``track_offset_s ÷ speed``
seconds before the chunk. Every chunk of one broadcast implies the same origin, whichever part of the song it
heard; that is what ties detections together in the matcher's confirmation, in following a broadcast and in
merging detections into plays.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl


def song_origin() -> pl.Expr:
    """``chunk_start_utc`` − ``track_offset_s`` ÷ ``speed`` (a missing speed counts as 1), to the microsecond."""
    seconds = pl.col("track_offset_s") / pl.col("speed").fill_null(1.0)
    return pl.col("chunk_start_utc") - pl.duration(microseconds=(seconds * 1_000_000).round().cast(pl.Int64))


def origin_of(chunk_start_utc: datetime, track_offset_s: float, speed: float) -> datetime:
    """``song_origin`` for one detection."""
    return chunk_start_utc - timedelta(seconds=track_offset_s / speed)
