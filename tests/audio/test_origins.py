"""A song's start implied by a detection: the same in polars and per row, and the same for every chunk of it."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from audio.origins import origin_of, song_origin

_START = datetime(2026, 11, 2, 6, 0, 30)


def test_every_chunk_of_a_sped_up_broadcast_implies_one_origin() -> None:
    """At speed 1.04 a chunk 30 s later is 31.2 s further into the track; both imply the start at 05:59:40."""
    detections = pl.DataFrame(
        {
            "chunk_start_utc": [_START, _START + timedelta(seconds=30), _START],
            "track_offset_s": [52.0, 83.2, 20.0],
            "speed": [1.04, 1.04, None],
        },
        schema={"chunk_start_utc": pl.Datetime("us"), "track_offset_s": pl.Float64, "speed": pl.Float64},
    )
    origins = detections.select(song_origin())["chunk_start_utc"].to_list()
    assert origins[:2] == [datetime(2026, 11, 2, 5, 59, 40)] * 2
    # A detection without a speed counts as speed 1.
    assert origins[2] == datetime(2026, 11, 2, 6, 0, 10)
    assert origin_of(_START, 52.0, 1.04) == origins[0]
    assert origin_of(_START + timedelta(seconds=30), 83.2, 1.04) == origins[1]
