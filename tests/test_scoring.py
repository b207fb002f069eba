"""`backbeat.scoring.score_plays`: which true plays are found, and from which start the error is measured."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from backbeat.scoring import score_plays

T0 = datetime(2024, 5, 1, 10, 0, 0)


def _plays(rows: list[tuple[str, int, int, int]]) -> pl.DataFrame:
    """(track, start s, end s, aired start s) at station r1."""
    return pl.DataFrame(
        [
            {
                "station_id": "r1",
                "track_id": track,
                "start_utc": T0 + timedelta(seconds=start),
                "end_utc": T0 + timedelta(seconds=end),
                "aired_start_utc": T0 + timedelta(seconds=aired),
            }
            for track, start, end, aired in rows
        ]
    )


def test_the_start_error_is_measured_from_the_chosen_start_and_the_matching_stays_on_the_heard_extent() -> None:
    truth = _plays([("x", 0, 100, 0), ("y", 100, 200, 100), ("z", 200, 300, 200)]).drop("aired_start_utc")
    # x heard from 4 s, aired from 1 s; y heard from 110 s (aired 101 s); z heard for 40 s only: not found, even
    # though its aired start would stretch it back over half the true play.
    predicted = _plays([("x", 4, 100, 1), ("y", 110, 200, 101), ("z", 260, 300, 200)])
    heard = score_plays(predicted, truth)
    aired = score_plays(predicted, truth, start_column="aired_start_utc")
    assert (heard.found, aired.found) == (2, 2)
    assert heard.median_start_error_s == 10.0  # errors 4 and 10: the upper median
    assert aired.median_start_error_s == 1.0
