"""Matching radio chunks against the catalog index: right track, right position, nothing invented."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from audio.matcher import DETECTION_SCHEMA, ChunkRef, match_chunks
from tests.audio.conftest import SYNTH_RATE, Catalog, add_white_noise, synth_music, write_audio, write_m4a

T0 = datetime(2024, 5, 1, 12, 0, 0)


def _chunk(path: Path, n: int = 0, station: str = "radio-1") -> ChunkRef:
    return ChunkRef(f"{station}-{n}", station, T0 + timedelta(seconds=30 * n), path)


def _excerpt(catalog: Catalog, track_id: str, start_s: float, length_s: float = 30.0) -> np.ndarray:
    signal = catalog.signals[track_id]
    return signal[int(start_s * SYNTH_RATE) : int((start_s + length_s) * SYNTH_RATE)]


def test_noisy_excerpt_is_found_at_the_right_position(catalog: Catalog, tmp_path: Path) -> None:
    start_s = 17.3  # middle of the 60 s track B, off the frame grid
    noisy = add_white_noise(_excerpt(catalog, "track-b", start_s), snr_db=15)
    result = match_chunks([_chunk(write_audio(tmp_path / "chunk.wav", noisy))], catalog.index)

    assert result.failures == []
    detections = result.detections
    assert detections["track_id"].to_list() == ["track-b"]  # and no other track
    row = detections.row(0, named=True)
    assert row["track_offset_s"] == pytest.approx(start_s, abs=0.5)
    assert row["chunk_id"] == "radio-1-0" and row["station_id"] == "radio-1"
    assert row["chunk_start_utc"] == T0
    assert row["query_start_s"] < 1.0 and row["query_end_s"] > 29.0
    assert row["score"] >= 200
    assert 0.5 < row["confidence"] <= 1.0


def test_unrelated_music_is_not_detected(catalog: Catalog, tmp_path: Path) -> None:
    chunks = [
        _chunk(write_audio(tmp_path / f"other{seed}.flac", add_white_noise(synth_music(seed, 30.0), 20)), seed)
        for seed in (4242, 4343, 4444)
    ]
    result = match_chunks(chunks, catalog.index)
    assert result.failures == []
    assert result.detections.is_empty()
    assert result.detections.schema == pl.Schema(DETECTION_SCHEMA)


def test_transition_chunk_yields_both_tracks(catalog: Catalog, tmp_path: Path) -> None:
    """Last 12 s of track A then the first 18 s of track C: C starts 12 s into the chunk."""
    outro = catalog.signals["track-a"][-12 * SYNTH_RATE :]
    intro = catalog.signals["track-c"][: 18 * SYNTH_RATE]
    chunk = write_audio(tmp_path / "transition.ogg", add_white_noise(np.concatenate([outro, intro]), 15))
    detections = match_chunks([_chunk(chunk)], catalog.index).detections.sort("track_id")

    assert detections["track_id"].to_list() == ["track-a", "track-c"]
    a, c = detections.rows(named=True)
    assert a["track_offset_s"] == pytest.approx(44.0 - 12.0, abs=0.5)
    assert a["query_end_s"] == pytest.approx(12.0, abs=1.5)
    assert c["track_offset_s"] == pytest.approx(-12.0, abs=0.5)  # negative: the song starts mid-chunk
    assert c["query_start_s"] == pytest.approx(12.0, abs=1.5)


def test_corrupt_chunk_fails_alone(catalog: Catalog, tmp_path: Path) -> None:
    good = [
        _chunk(write_audio(tmp_path / f"good{n}.wav", add_white_noise(_excerpt(catalog, tid, 5.0), 15)), n)
        for n, tid in enumerate(["track-d", "track-g", "track-h"])
    ]
    bad = tmp_path / "bad.mp3"
    bad.write_bytes(b"ID3" + bytes(range(256)) * 40)
    chunks = [good[0], _chunk(bad, 7), good[1], good[2]]
    result = match_chunks(chunks, catalog.index, batch_size=2)  # the bad chunk shares a batch

    assert [(f.chunk_id, f.path) for f in result.failures] == [("radio-1-7", str(bad))]
    assert result.failures[0].reason
    assert result.detections.select("chunk_id", "track_id").rows() == [
        ("radio-1-0", "track-d"),
        ("radio-1-1", "track-g"),
        ("radio-1-2", "track-h"),
    ]


def test_aac_chunk_is_matched(catalog: Catalog, tmp_path: Path) -> None:
    chunk = write_m4a(tmp_path / "chunk.m4a", add_white_noise(_excerpt(catalog, "track-f", 20.0), 15))
    detections = match_chunks([_chunk(chunk)], catalog.index).detections
    assert detections["track_id"].to_list() == ["track-f"]
    # AAC priming delays the audio by a few tens of milliseconds at most.
    assert detections["track_offset_s"].item() == pytest.approx(20.0, abs=0.1)


def test_batch_size_does_not_change_results(catalog: Catalog, tmp_path: Path) -> None:
    chunks = [
        _chunk(write_audio(tmp_path / f"c{n}.wav", _excerpt(catalog, tid, 10.0)), n)
        for n, tid in enumerate(["track-a", "track-e", "track-b", "track-a"])
    ]
    one_by_one = match_chunks(chunks, catalog.index, batch_size=1).detections
    all_at_once = match_chunks(chunks, catalog.index, batch_size=32).detections
    assert one_by_one.height == 4
    assert one_by_one.equals(all_at_once)


def test_empty_input_gives_an_empty_frame_with_the_schema(catalog: Catalog) -> None:
    result = match_chunks([], catalog.index)
    assert result.failures == []
    assert result.detections.is_empty()
    assert result.detections.schema == pl.Schema(DETECTION_SCHEMA)
    with pytest.raises(ValueError):
        match_chunks([], catalog.index, batch_size=0)


def _weak_rows(rows: list[tuple]) -> pl.DataFrame:
    """(chunk n, track, track_offset_s, query_start_s, query_end_s, score) on station radio-1, speed 1."""
    return pl.DataFrame(
        [
            {
                "chunk_id": f"radio-1-{n}",
                "station_id": "radio-1",
                "chunk_start_utc": T0 + timedelta(seconds=30 * n),
                "track_id": track,
                "track_offset_s": offset,
                "query_start_s": start,
                "query_end_s": end,
                "score": score,
                "confidence": score / (score + 50),
                "speed": 1.0,
                "runner_up_track_id": None,
                "runner_up_confidence": None,
            }
            for n, track, offset, start, end, score in rows
        ],
        schema=DETECTION_SCHEMA,
    )


def test_weak_detection_counts_only_when_a_neighbour_agrees_on_the_song_start() -> None:
    from audio.matcher import _confirmed, _unshadowed

    strong = _weak_rows([(0, "track-a", 10.0, 0.0, 30.0, 300)])
    weak = _weak_rows(
        [
            (1, "track-a", 40.2, 0.0, 12.0, 20),  # same start as the strong one (t0 - 10 s): confirmed
            (2, "track-a", 20.0, 0.0, 25.0, 20),  # same track, another start: a replay or chance, dropped
            (1, "track-b", 5.0, 14.0, 29.0, 18),  # weak pair (chunks 1 and 2, start t0 + 25 s): both confirmed
            (2, "track-b", 35.1, 0.0, 9.0, 22),
            (0, "track-c", 10.0, 2.0, 28.0, 25),  # under track-a in chunk 0: a version, no play of its own,
            (1, "track-c", 40.0, 0.0, 12.0, 25),  # so it confirms nothing either
            (9, "track-d", 3.0, 0.0, 20.0, 40),  # alone: dropped
        ]
    )
    kept = _confirmed(_unshadowed(weak, strong), strong).sort("chunk_id", "track_id")
    assert kept.select("chunk_id", "track_id").rows() == [
        ("radio-1-1", "track-a"),
        ("radio-1-1", "track-b"),
        ("radio-1-2", "track-b"),
    ]
