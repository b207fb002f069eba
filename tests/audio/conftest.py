"""Synthetic "music" and a small fingerprinted catalog shared by the audio tests.

Real recordings cannot live in the repo, so each track is generated from a seed: polyphonic harmonic
notes with attack/decay envelopes on a per-seed tempo and scale, plus kick and hi-hat noise bursts.
Different seeds give unrelated pitches and rhythms, which is what the matcher must tell apart.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import soundfile as sf

from audio.index import FingerprintIndex, IndexBuildReport, build_index
from audio.matcher import ChunkRef
from audio.plays import merge_detections

SYNTH_RATE = 22050

# Eight catalog tracks of 40-60 s in the three formats the decoder must read, plus one long enough
# to span several 30 s radio chunks.
CATALOG_SPECS: list[tuple[str, int, float, str]] = [
    ("track-a", 101, 44.0, "wav"),
    ("track-b", 102, 60.0, "flac"),
    ("track-c", 103, 48.0, "ogg"),
    ("track-d", 104, 52.0, "wav"),
    ("track-e", 105, 40.0, "flac"),
    ("track-f", 106, 56.0, "ogg"),
    ("track-g", 107, 46.0, "wav"),
    ("track-h", 108, 50.0, "flac"),
    ("track-long", 109, 100.0, "flac"),
]


def synth_music(seed: int, duration_s: float, sample_rate: int = SYNTH_RATE) -> np.ndarray:
    """Deterministic music-like float32 mono signal, peak-normalised to 0.8."""
    rng = np.random.default_rng(seed)
    n = int(round(duration_s * sample_rate))
    out = np.zeros(n + sample_rate * 3, dtype=np.float64)
    beat = 60.0 / rng.uniform(84.0, 150.0)
    root = int(rng.integers(40, 52))
    scale = root + np.cumsum(np.r_[0, rng.choice([1, 2, 2, 3], size=20)])
    t = 0.0
    while t < duration_s:
        note_len = beat * float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        start = int(t * sample_rate)
        for _ in range(int(rng.integers(1, 4))):
            midi = float(rng.choice(scale))
            f0 = 440.0 * 2.0 ** ((midi - 69.0) / 12.0)
            length = int(note_len * sample_rate * rng.uniform(0.8, 1.6))
            tt = np.arange(length) / sample_rate
            envelope = np.minimum(tt / 0.01, 1.0) * np.exp(-tt * rng.uniform(2.0, 6.0))
            n_harm = int(rng.integers(3, 8))
            k = np.arange(1, n_harm + 1)[:, None]
            k = k[(k[:, 0] * f0) < sample_rate / 2.2]
            amps = k ** -rng.uniform(0.8, 1.8)
            tone = (amps * np.sin(2 * np.pi * f0 * k * tt + rng.uniform(0, 2 * np.pi, size=k.shape))).sum(0)
            out[start : start + length] += rng.uniform(0.3, 1.0) * envelope * tone
        t += note_len
    # Drums on the beat: a pitched-down kick and a short bright noise burst.
    for b in np.arange(0.0, duration_s, beat / 2):
        start = int(b * sample_rate)
        length = int(0.12 * sample_rate)
        tt = np.arange(length) / sample_rate
        if rng.random() < 0.5:
            kick = np.sin(2 * np.pi * (60 + 90 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 25)
            out[start : start + length] += 1.2 * kick
        noise = rng.standard_normal(length) * np.exp(-tt * 60)
        out[start : start + length] += 0.4 * np.diff(noise, prepend=0.0)
    out = out[:n]
    return (0.8 * out / np.max(np.abs(out))).astype(np.float32)


def add_white_noise(samples: np.ndarray, snr_db: float, seed: int = 0) -> np.ndarray:
    """Add white noise at the given signal-to-noise ratio (in dB, by mean power)."""
    rng = np.random.default_rng(seed)
    noise_power = float(np.mean(samples.astype(np.float64) ** 2)) / 10 ** (snr_db / 10)
    noisy = samples + rng.standard_normal(samples.size) * np.sqrt(noise_power)
    return noisy.astype(np.float32)


def write_audio(path: Path, samples: np.ndarray, sample_rate: int = SYNTH_RATE) -> Path:
    """Write samples in the format named by the path's suffix (wav, flac, ogg)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), samples, sample_rate)
    return path


def write_m4a(path: Path, samples: np.ndarray, sample_rate: int = SYNTH_RATE) -> Path:
    """Encode samples as AAC in an MP4 container (what stream recorders produce; libsndfile cannot read it)."""
    wav = write_audio(path.with_suffix(".src.wav"), samples, sample_rate)
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-i",
            str(wav),
            "-c:a",
            "aac",
            "-b:a",
            "96k",
            str(path),
        ],
        check=True,
    )
    wav.unlink()
    return path


@dataclass
class Catalog:
    """The generated reference tracks, their files and their fingerprinted index."""

    signals: dict[str, np.ndarray]
    paths: dict[str, Path]
    index_dir: Path
    report: IndexBuildReport
    index: FingerprintIndex


@pytest.fixture(scope="session")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    root = tmp_path_factory.mktemp("catalog")
    signals, paths = {}, {}
    for track_id, seed, duration_s, ext in CATALOG_SPECS:
        signals[track_id] = synth_music(seed, duration_s)
        paths[track_id] = write_audio(root / f"{track_id}.{ext}", signals[track_id])
    index_dir = root / "index"
    report = build_index(paths.items(), index_dir)
    return Catalog(signals, paths, index_dir, report, FingerprintIndex.open(index_dir))


T0 = datetime(2024, 6, 1, 8, 0, 0)
"""When the first chunk of a test broadcast starts."""


def broadcast_chunks(stream: np.ndarray, folder: Path, station: str = "r1") -> list[ChunkRef]:
    """`stream` cut into 30 s FLAC chunks `{station}-{n}` under `folder`, chunk n starting at T0 + 30 n s."""
    return [
        ChunkRef(
            f"{station}-{n}",
            station,
            T0 + timedelta(seconds=30 * n),
            write_audio(folder / f"{station}-{n}.flac", stream[30 * n * SYNTH_RATE : 30 * (n + 1) * SYNTH_RATE]),
        )
        for n in range(int(np.ceil(stream.size / (30 * SYNTH_RATE))))
    ]


def assert_one_play_from_5_s(detections, factor: float, track_s: float = 100.0) -> dict:
    """The detections of a broadcast whose track starts at 5 s, played `factor` times as fast (speed or tempo):
    the line's slope is `factor`, chunk n starts (30 n − 5) × factor s into the track, and the detections merge into
    one play from 5 s to 5 + track_s / factor s (±2 s). Returns the play."""
    assert detections.height >= 3
    assert detections["speed"].to_numpy() == pytest.approx(factor, abs=0.003)
    for row in detections.iter_rows(named=True):
        n = int(row["chunk_id"].split("-")[1])
        assert row["track_offset_s"] == pytest.approx((30 * n - 5) * factor, abs=0.3)
    plays = merge_detections(detections)
    assert plays.height == 1
    play = plays.row(0, named=True)
    assert abs((play["start_utc"] - (T0 + timedelta(seconds=5))).total_seconds()) <= 2
    assert abs((play["end_utc"] - (T0 + timedelta(seconds=5 + track_s / factor))).total_seconds()) <= 2
    return play
