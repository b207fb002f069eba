"""Peak-overlap verification (``audio.verify``) and following a broadcast through chunks that have no line of
it (``audio.broadcasts``), on the synthetic catalog."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from audio import broadcasts
from audio.broadcasts import HeardChunk
from audio.fingerprint import FRAME_SECONDS, landmarks
from audio.matcher import DETECTION_SCHEMA, match_chunks
from audio.verify import ReferenceCache, _densest_run, overlap, query_peaks
from tests.audio.conftest import SYNTH_RATE, T0, Catalog, add_white_noise, broadcast_chunks, synth_music


def _heard(chunk_id: str, start_s: float, samples: np.ndarray) -> HeardChunk:
    peaks = query_peaks(landmarks(samples, SYNTH_RATE))
    return HeardChunk(chunk_id, "r1", T0 + timedelta(seconds=start_s), samples.size / SYNTH_RATE, peaks)


def _song_stream(noise_db: float | None, middle: np.ndarray | None = None) -> np.ndarray:
    """track-long (100 s) from 5 s to 105 s of a 120 s stream; the second 30 s chunk under white noise at
    ``noise_db`` SNR, or replaced by ``middle``."""
    stream = np.zeros(120 * SYNTH_RATE, dtype=np.float32)
    stream[5 * SYNTH_RATE : 105 * SYNTH_RATE] = synth_music(109, 100.0)
    second = slice(30 * SYNTH_RATE, 60 * SYNTH_RATE)
    if middle is not None:
        stream[second] = middle
    elif noise_db is not None:
        stream[second] = add_white_noise(stream[second], noise_db, seed=3)
    return stream / max(1.0, float(np.abs(stream).max()) / 0.9)


def test_the_song_lands_on_its_peaks_at_its_alignment_only(catalog: Catalog) -> None:
    references = ReferenceCache(catalog.index_dir)
    song = references.get("track-long")
    assert song is not None
    chunk = _heard("c", 0.0, catalog.signals["track-long"][30 * SYNTH_RATE : 60 * SYNTH_RATE])
    aligned = overlap(chunk.peaks, song, 30.0 / FRAME_SECONDS, 1.0, 1.0)
    assert aligned.z > 30
    assert aligned.hits > 0.5 * aligned.inside
    # 7.3 s off, or another track at the same place: chance.
    assert abs(overlap(chunk.peaks, song, 37.3 / FRAME_SECONDS, 1.0, 1.0).z) < 4
    other = references.get("track-b")
    assert other is not None
    assert abs(overlap(chunk.peaks, other, 30.0 / FRAME_SECONDS, 1.0, 1.0).z) < 4
    assert references.get("not-in-the-index") is None


def test_the_heard_stretch_ends_where_the_hits_stop() -> None:
    t = np.arange(1300, dtype=np.float32)
    chance = np.full(t.size, 0.04)
    hit = np.zeros(t.size, dtype=bool)
    hit[::25] = True  # chance everywhere
    hit[400:900:3] = True  # the song, between frames 400 and 900
    first, last = _densest_run(t, hit, chance)
    assert 395 <= first <= 405
    assert 895 <= last <= 900
    assert _densest_run(t, np.zeros(t.size, dtype=bool), chance) == (0.0, 0.0)


def test_a_chunk_where_noise_hid_every_line_joins_its_broadcast(
    catalog: Catalog, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chunks = broadcast_chunks(_song_stream(-20.0), tmp_path)
    found = match_chunks(chunks, catalog.index).detections
    middle = found.filter(chunk_id="r1-1")
    assert middle.height == 1
    row = middle.row(0, named=True)
    assert row["track_id"] == "track-long"
    assert row["track_offset_s"] == pytest.approx(25.0, abs=0.1)  # the broadcast's alignment
    assert row["query_start_s"] < 3.0 and row["query_end_s"] > 26.0  # heard across the chunk
    assert 15 <= row["score"] < 200
    # The same chunks without following the broadcast: no line there at all.
    monkeypatch.setattr(broadcasts, "EXTEND_Z", float("inf"))
    assert match_chunks(chunks, catalog.index).detections.filter(chunk_id="r1-1").is_empty()


def test_a_broadcast_is_not_followed_into_other_music(catalog: Catalog, tmp_path: Path) -> None:
    # The DJ cut the song after 25 s of it and played unindexed music, with the same noise.
    unrelated = add_white_noise(synth_music(999, 30.0), -20.0, seed=3)
    found = match_chunks(broadcast_chunks(_song_stream(None, unrelated), tmp_path), catalog.index).detections
    assert found.filter(chunk_id="r1-1").is_empty()
    assert set(found["chunk_id"]) == {"r1-0", "r1-2", "r1-3"}


def _line(n: int, score: int) -> dict[str, object]:
    """A line of track-long in chunk n of `_song_stream` at the song's true alignment (it starts at 5 s)."""
    return {
        "chunk_id": f"r1-{n}",
        "station_id": "r1",
        "chunk_start_utc": T0 + timedelta(seconds=30 * n),
        "track_id": "track-long",
        "track_offset_s": 30.0 * n - 5.0,
        "query_start_s": 2.0,
        "query_end_s": 27.0,
        "score": score,
        "confidence": score / (score + 50),
        "speed": 1.0,
        "runner_up_track_id": None,
        "runner_up_confidence": None,
    }


def test_only_anchored_broadcasts_are_followed(catalog: Catalog) -> None:
    references = ReferenceCache(catalog.index_dir)
    stream = _song_stream(-20.0)
    heard = [_heard(f"r1-{n}", 30.0 * n, stream[30 * n * SYNTH_RATE : 30 * (n + 1) * SYNTH_RATE]) for n in range(4)]

    def followed(*lines: dict[str, object]) -> list[str]:
        detections = pl.DataFrame(list(lines), schema=DETECTION_SCHEMA)
        return sorted(broadcasts.extended(detections, heard, references, anchor_score=100)["chunk_id"])

    # One weak line alone: single peaks cannot tell its song from other music of the same sounds; not followed.
    assert followed(_line(0, 40)) == []
    # Two lines agreeing on the start, or one strong line: the chunks without a line of it, where it is heard.
    assert followed(_line(0, 40), _line(3, 30)) == ["r1-1", "r1-2"]
    assert followed(_line(2, 400)) == ["r1-0", "r1-1", "r1-3"]
