"""Radio as it really sounds: sped up or slowed down, noisy, talked over, and catalogs holding two versions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soxr
from scipy import signal

from audio.index import FingerprintIndex, build_index
from audio.matcher import CANDIDATE_SCHEMA, DETECTION_SCHEMA, match_chunks
from audio.plays import merge_detections
from tests.audio.conftest import (
    SYNTH_RATE,
    Catalog,
    add_white_noise,
    assert_one_play_from_5_s,
    broadcast_chunks,
    synth_music,
    write_audio,
)


def _speed(samples: np.ndarray, speed: float) -> np.ndarray:
    """Play ``samples`` ``speed`` times faster by resampling, as radio does: pitch and tempo both scale."""
    return soxr.resample(samples, SYNTH_RATE * speed, SYNTH_RATE).astype(np.float32)


def _speech(duration_s: float, seed: int = 3) -> np.ndarray:
    """A speech-like voice: a gliding 110-220 Hz buzz through moving formants, in 4 Hz syllables."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * SYNTH_RATE)
    t = np.arange(n) / SYNTH_RATE
    pitch = 150 + 40 * np.sin(2 * np.pi * 0.7 * t) + 20 * rng.standard_normal() * np.sin(2 * np.pi * 3.1 * t)
    buzz = signal.sawtooth(2 * np.pi * np.cumsum(pitch) / SYNTH_RATE)
    voiced = signal.lfilter(*signal.butter(2, [300, 3000], btype="band", fs=SYNTH_RATE), buzz)
    syllables = np.clip(np.sin(2 * np.pi * 4.0 * t + rng.uniform(0, 6)), 0, None) ** 0.5
    voice = voiced * syllables + 0.1 * rng.standard_normal(n) * syllables
    return (voice / np.max(np.abs(voice))).astype(np.float32)


@pytest.mark.parametrize("speed", [0.965, 1.04])
def test_speed_changed_play_is_found_with_its_speed(catalog: Catalog, tmp_path: Path, speed: float) -> None:
    """Filler, then the 100 s track played fast or slow from 5 s, at 10 dB SNR."""
    song = _speed(catalog.signals["track-long"], speed)
    stream = np.concatenate([synth_music(8101, 5.0), song, synth_music(8102, 20.0)])
    stream = add_white_noise(stream, snr_db=10, seed=2)
    detections = match_chunks(broadcast_chunks(stream, tmp_path), catalog.index).detections

    assert set(detections["track_id"]) == {"track-long"}
    # Chunk n starts 30n − 5 s into the broadcast song, i.e. (30n − 5) × speed into the track.
    play = assert_one_play_from_5_s(detections, speed)
    assert play["speed"] == pytest.approx(speed, abs=0.003)
    assert play["runner_up_track_id"] is None


def test_talk_over_the_intro_and_noise_still_match(catalog: Catalog, tmp_path: Path) -> None:
    """A presenter talks over the first 12 s of track H (voice as loud as the music), all at 10 dB SNR."""
    music = catalog.signals["track-h"][: 30 * SYNTH_RATE].copy()
    voice = _speech(12.0)
    music[: voice.size] += voice * np.sqrt(np.mean(music[: voice.size] ** 2) / np.mean(voice**2))
    chunk = broadcast_chunks(add_white_noise(music, snr_db=10, seed=9), tmp_path)
    detections = match_chunks(chunk, catalog.index).detections
    assert detections["track_id"].to_list() == ["track-h"]
    assert detections["track_offset_s"].item() == pytest.approx(0.0, abs=0.3)
    assert detections["speed"].item() == pytest.approx(1.0, abs=0.003)


def test_unindexed_music_at_any_speed_is_not_detected(catalog: Catalog, tmp_path: Path) -> None:
    speeds = [(8201, 0.96), (8202, 1.0), (8203, 1.04)]
    stream = np.concatenate([_speed(synth_music(seed, 30.0), s) for seed, s in speeds])
    result = match_chunks(broadcast_chunks(add_white_noise(stream, 20), tmp_path), catalog.index)
    assert result.failures == []
    assert result.detections.is_empty()
    assert result.candidates.is_empty() and result.candidates.schema == pl.Schema(CANDIDATE_SCHEMA)


@pytest.fixture(scope="module")
def versions(catalog: Catalog, tmp_path_factory: pytest.TempPathFactory) -> FingerprintIndex:
    """Track B and a remaster of it (brighter EQ, 3 dB quieter) indexed as a second track, plus track C."""
    root = tmp_path_factory.mktemp("versions")
    original = catalog.signals["track-b"]
    brighter = original + 0.7 * signal.lfilter(*signal.butter(2, 2000, btype="high", fs=SYNTH_RATE), original)
    remaster = (0.7 * brighter / np.max(np.abs(brighter))).astype(np.float32)
    tracks = {
        "track-b": catalog.paths["track-b"],
        "track-b-remaster": write_audio(root / "track-b-remaster.flac", remaster),
        "track-c": catalog.paths["track-c"],
    }
    build_index(tracks.items(), root / "index")
    return FingerprintIndex.open(root / "index")


def test_a_remaster_shows_as_runner_up(catalog: Catalog, versions: FingerprintIndex, tmp_path: Path) -> None:
    stream = add_white_noise(np.concatenate([synth_music(8301, 10.0), catalog.signals["track-b"]]), 15, seed=4)
    result = match_chunks(broadcast_chunks(stream, tmp_path)[:2], versions)

    # One detection per chunk, never the original and the remaster both.
    assert result.detections["chunk_id"].to_list() == ["r1-0", "r1-1"]
    assert set(result.detections["track_id"]) == {"track-b"}
    assert set(result.detections["runner_up_track_id"]) == {"track-b-remaster"}
    assert (result.detections["runner_up_confidence"] < result.detections["confidence"]).all()
    assert (result.detections["runner_up_confidence"] > 0.5).all()
    assert result.detections.schema == pl.Schema(DETECTION_SCHEMA)

    candidates = result.candidates.filter(pl.col("chunk_id") == "r1-1")
    assert candidates.schema == pl.Schema(CANDIDATE_SCHEMA)
    assert candidates.select("track_id", "rank").rows() == [("track-b", 1), ("track-b-remaster", 2)]
    assert candidates["score"][1] >= 0.5 * candidates["score"][0]

    plays = merge_detections(result.detections, min_play_s=20)
    assert plays.select("track_id", "runner_up_track_id").rows() == [("track-b", "track-b-remaster")]
    assert 0.5 < plays["runner_up_confidence"].item() < plays["confidence"].item()


def test_index_survives_a_reopen_and_rejects_an_old_version(catalog: Catalog, tmp_path: Path) -> None:
    """A round trip through disk finds the same thing; an index of another fingerprint version is redone."""
    index_dir = tmp_path / "index"
    report = build_index([("track-e", catalog.paths["track-e"])], index_dir)
    chunk = broadcast_chunks(
        add_white_noise(_speed(catalog.signals["track-e"][: 32 * SYNTH_RATE], 1.03), 10), tmp_path
    )[:1]
    first = match_chunks(chunk, FingerprintIndex.open(index_dir)).detections
    again = match_chunks(chunk, FingerprintIndex.open(index_dir)).detections
    assert first["track_id"].to_list() == ["track-e"] and first.equals(again)
    assert first["speed"].item() == pytest.approx(1.03, abs=0.003)

    manifest = pl.read_parquet(index_dir / "manifest.parquet")
    manifest.write_parquet(index_dir / "manifest.parquet", metadata={"backbeat.fingerprint_version": "landmark-v1"})
    rebuilt = build_index([("track-e", catalog.paths["track-e"])], index_dir)
    assert (rebuilt.tracks_fingerprinted, rebuilt.tracks_reused) == (1, 0)
    assert rebuilt.n_hashes == report.n_hashes
