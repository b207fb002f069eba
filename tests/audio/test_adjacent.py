"""Which chunks come right before and after a detection's chunk on its station (the neighbour step's pairs)."""

from __future__ import annotations

from datetime import datetime, timedelta

import polars as pl

from audio.adjacent import CHUNKS_SCHEMA, neighbour_pairs

T0 = datetime(2024, 6, 1, 8, 0, 0)


def _chunks(*rows: tuple[str, str, float, float]) -> pl.DataFrame:
    return pl.DataFrame(
        [(chunk_id, station, T0 + timedelta(seconds=start), seconds) for chunk_id, station, start, seconds in rows],
        schema=CHUNKS_SCHEMA,
        orient="row",
    )


def _found(*rows: tuple[str, str]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema={"chunk_id": pl.String, "track_id": pl.String}, orient="row")


def test_a_detection_pairs_with_the_chunks_right_before_and_after_it_on_its_station() -> None:
    chunks = _chunks(
        ("a2", "a", 60.0, 30.0),  # out of order on purpose
        ("a0", "a", 0.0, 30.0),
        ("a1", "a", 30.0, 30.0),
        ("b1", "b", 30.0, 30.0),  # another station, same time
    )
    pairs = neighbour_pairs(chunks, _found(("a1", "song")))
    assert sorted(pairs.rows()) == [("a0", "song"), ("a2", "song")]


def test_no_neighbour_across_a_gap_or_outside_the_chunks_given() -> None:
    chunks = _chunks(("a0", "a", 0.0, 30.0), ("a1", "a", 30.5, 30.0), ("a2", "a", 75.0, 30.0))
    # a1 starts 0.5 s after a0 ends: neighbours; a2 starts 14.5 s after a1 ends (an outage): not.
    assert sorted(neighbour_pairs(chunks, _found(("a1", "song"))).rows()) == [("a0", "song")]
    assert neighbour_pairs(chunks, _found(("a2", "song"))).is_empty()
    assert neighbour_pairs(chunks, _found(("elsewhere", "song"))).is_empty()


def test_each_pair_comes_once() -> None:
    chunks = _chunks(("a0", "a", 0.0, 30.0), ("a1", "a", 30.0, 30.0), ("a2", "a", 60.0, 30.0))
    pairs = neighbour_pairs(chunks, _found(("a0", "x"), ("a2", "x"), ("a2", "y")))
    assert sorted(pairs.rows()) == [("a1", "x"), ("a1", "y")]
