"""Audio features on synthesized audio whose tempo, key and level are known by construction."""

from __future__ import annotations

from pathlib import Path

import librosa
import numpy as np
import pytest
import soundfile as sf

from audio.features import FEATURE_RATE, AudioFeatures, compute_features

SR = FEATURE_RATE


def click_track(bpm: float, duration_s: float = 20.0, sample_rate: int = SR) -> np.ndarray:
    """Short 1 kHz clicks exactly every beat."""
    out = np.zeros(int(duration_s * sample_rate), dtype=np.float32)
    t = np.arange(int(0.03 * sample_rate)) / sample_rate
    click = (np.sin(2 * np.pi * 1000 * t) * np.exp(-t * 150)).astype(np.float32)
    for beat in np.arange(0.1, duration_s - 0.1, 60.0 / bpm):
        start = int(round(beat * sample_rate))
        out[start : start + click.size] += click
    return 0.8 * out


def _tone(midis: list[int], duration_s: float) -> np.ndarray:
    t = np.arange(int(duration_s * SR)) / SR
    out = np.zeros_like(t)
    for midi in midis:
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        for k in range(1, 5):
            out += 0.6 ** (k - 1) * np.sin(2 * np.pi * f0 * k * t)
    return out * np.minimum(t / 0.02, 1) * np.minimum((duration_s - t) / 0.05, 1)


def scale_over_tonic_chord(tonic_midi: int, minor: bool) -> np.ndarray:
    """The key's scale up and down over its sustained tonic triad, ending on the triad: ~9.4 s."""
    steps = [0, 2, 3, 5, 7, 8, 10, 12] if minor else [0, 2, 4, 5, 7, 9, 11, 12]
    triad = [tonic_midi - 12, tonic_midi - 12 + (3 if minor else 4), tonic_midi - 12 + 7]
    parts = [_tone([tonic_midi + s], 0.4) + 0.7 * _tone(triad, 0.4) for s in steps + steps[::-1]]
    parts.append(_tone([*triad, tonic_midi], 3.0))
    signal = np.concatenate(parts)
    return (0.5 * signal / np.abs(signal).max()).astype(np.float32)


@pytest.mark.parametrize("bpm", [100.0, 128.0, 174.0])
def test_tempo_of_a_click_track_is_within_two_percent(bpm: float) -> None:
    features = compute_features(click_track(bpm))
    assert features.tempo_bpm is not None
    assert abs(features.tempo_bpm - bpm) / bpm <= 0.02, features.tempo_bpm


@pytest.mark.parametrize(
    ("tonic_midi", "minor", "expected"),
    [(69, True, "A minor"), (62, False, "D major"), (66, True, "F# minor"), (63, False, "Eb major")],
)
def test_key_of_a_scale_over_its_tonic_chord(tonic_midi: int, minor: bool, expected: str) -> None:
    features = compute_features(scale_over_tonic_chord(tonic_midi, minor))
    assert features.key == expected
    assert features.key_confidence >= 0.8


def test_loudness_and_energy_follow_the_level() -> None:
    rng = np.random.default_rng(3)
    noise = rng.standard_normal(SR * 5).astype(np.float32)
    loud = compute_features(0.5 * noise)
    quiet = compute_features(0.05 * noise)
    assert loud.loudness_db == pytest.approx(20 * np.log10(0.5), abs=0.2)
    assert loud.loudness_db - quiet.loudness_db == pytest.approx(20.0, abs=0.2)
    assert 0.0 < quiet.energy < loud.energy < 1.0
    # 20 dB quieter is a third of the 60 dB energy scale lower.
    assert loud.energy - quiet.energy == pytest.approx(20 / 60, abs=0.02)


def test_silence_has_no_tempo_no_key_and_zero_energy() -> None:
    features = compute_features(np.zeros(SR * 5, dtype=np.float32))
    assert features == AudioFeatures(
        tempo_bpm=None, key=None, key_confidence=0.0, energy=0.0, loudness_db=-120.0, provenance=features.provenance
    )


def test_features_from_a_stereo_file_at_another_rate_carry_their_provenance(tmp_path: Path) -> None:
    mono = click_track(128.0, sample_rate=44100)
    path = tmp_path / "clicks.flac"
    sf.write(str(path), np.stack([mono, mono], axis=1), 44100)
    from_file = compute_features(path)
    from_array = compute_features(np.stack([mono, mono]), sample_rate=44100)
    assert abs(from_file.tempo_bpm - 128.0) <= 128.0 * 0.02
    assert from_array.tempo_bpm == pytest.approx(from_file.tempo_bpm, rel=0.005)
    assert from_file.provenance.startswith(f"librosa-{librosa.__version__}:")
    assert "beat_track" in from_file.provenance and "krumhansl" in from_file.provenance


def test_empty_input_is_an_error() -> None:
    with pytest.raises(ValueError):
        compute_features(np.zeros(0, dtype=np.float32))
