"""Audio features Backbeat computes itself from the audio it holds: tempo, key, energy, loudness.

Spotify no longer serves audio features to new applications, so these come from librosa, and every result
says so in ``provenance`` ("librosa-<version>:<method>") so it is never mistaken for a vendor's number.

- **tempo_bpm**: librosa's dynamic-programming beat tracker on the onset-strength envelope (its tempo prior is
  autocorrelation of that envelope); the reported tempo is then the mean beat interval of the tracked beats,
  which is far finer than the tracker's own tempo grid (one STFT hop ≈ 2 % at 120 BPM). Octave (half/double
  time) choices are left to ``backbeat.catalog.dj.normalise_bpm``, which knows the genre. ``None`` when no
  beats are found (silence, a drone).
- **key**: the time-averaged constant-Q chromagram of the harmonic part (HPSS) correlated with the 24 rotations
  of the Krumhansl-Schmuckler key profiles; the best Pearson correlation is ``key_confidence`` (0..1, clipped;
  ≥ 0.8 is a clear tonal centre, < 0.5 means treat the key as unknown). ``None`` without pitched content.
- **loudness_db**: RMS level of the whole signal in dBFS (0 dBFS = a full-scale square wave). It is not LUFS:
  no K-weighting and no gating. Floor -120 dB for silence.
- **energy** (0..1): the mean over 93 ms frames of the frame's RMS level mapped linearly from -60 dBFS (0)
  to 0 dBFS (1). A modern mastered track sits around 0.75-0.9, a quiet acoustic one around 0.5-0.6; quiet
  intros and breaks pull it down, as they do a listener's sense of energy.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import librosa
import numpy as np
import soxr

from audio.decode import decode_audio

# librosa's defaults are tuned for 22.05 kHz; chroma needs nothing above it.
FEATURE_RATE = 22050
HOP_LENGTH = 512
FRAME_LENGTH = 2048
# Analyse at most this much audio: key and tempo are stable well within it, and it bounds time per track.
MAX_ANALYSIS_S = 240.0

METHOD = "beat_track-mean-interval+chroma_cqt-krumhansl+rms"
PROVENANCE = f"librosa-{librosa.version.version}:{METHOD}"

ENERGY_FLOOR_DB = -60.0
LOUDNESS_FLOOR_DB = -120.0

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
_MAJOR_PROFILE = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_MINOR_PROFILE = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
# Same spellings as ``backbeat.catalog.dj.Key.standard`` (audio/ does not import the asset packages).
_MAJOR_NAMES = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_MINOR_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")


@dataclass(frozen=True)
class AudioFeatures:
    """Features of one recording computed from its audio; see the module docstring for each one's scale."""

    tempo_bpm: float | None
    key: str | None
    key_confidence: float
    energy: float
    loudness_db: float
    provenance: str = PROVENANCE


def _samples(source: Path | str | np.ndarray, sample_rate: int) -> np.ndarray:
    if isinstance(source, np.ndarray):
        samples = np.asarray(source, dtype=np.float32)
        if samples.ndim == 2:  # (channels, n) as librosa has it, or (n, channels) as soundfile has it
            samples = samples.mean(axis=0 if samples.shape[0] < samples.shape[1] else 1)
        if samples.ndim != 1:
            raise ValueError(f"expected mono or stereo samples, got shape {source.shape}")
        if sample_rate != FEATURE_RATE:
            samples = soxr.resample(samples, sample_rate, FEATURE_RATE, quality="HQ")
    else:
        samples = decode_audio(Path(source), FEATURE_RATE)
    if samples.size == 0:
        raise ValueError("no samples to analyse")
    if not np.all(np.isfinite(samples)):
        raise ValueError("samples contain NaN or infinity")
    return np.ascontiguousarray(samples[: int(MAX_ANALYSIS_S * FEATURE_RATE)], dtype=np.float32)


def estimate_tempo(samples: np.ndarray, sample_rate: int = FEATURE_RATE) -> float | None:
    """Tempo in BPM from tracked beats (mean interval of the beats that agree with the tracker's period)."""
    onset_env = librosa.onset.onset_strength(y=samples, sr=sample_rate, hop_length=HOP_LENGTH)
    if not np.any(onset_env > 0):
        return None
    tempo, beats = librosa.beat.beat_track(
        onset_envelope=onset_env, sr=sample_rate, hop_length=HOP_LENGTH, units="time"
    )
    coarse = float(np.atleast_1d(tempo)[0])
    if coarse <= 0 or len(beats) < 2:
        return None
    if len(beats) < 4:
        return coarse
    intervals = np.diff(beats)
    period = 60.0 / coarse
    # Skipped or doubled beats would bias the mean; keep the intervals within 15 % of the tracker's period.
    steady = intervals[np.abs(intervals - period) <= 0.15 * period]
    if steady.size < 3:
        return coarse
    return float(60.0 / steady.mean())


def estimate_key(samples: np.ndarray, sample_rate: int = FEATURE_RATE) -> tuple[str | None, float]:
    """(key name like "A minor", confidence 0..1) by Krumhansl-Schmuckler on the mean chroma."""
    harmonic = librosa.effects.harmonic(samples, margin=2.0)
    if float(np.max(np.abs(harmonic))) < 1e-4:  # nothing pitched (silence, clicks): no key, and no tuning warning
        return None, 0.0
    chroma = librosa.feature.chroma_cqt(y=harmonic, sr=sample_rate, hop_length=HOP_LENGTH)
    profile = chroma.mean(axis=1)
    if not np.isfinite(profile).all() or profile.std() < 1e-6:
        return None, 0.0
    best_r, best_name = -1.0, None
    for tonic in range(12):
        rotated = np.roll(profile, -tonic)  # rotated[0] is the candidate tonic's energy
        for template, names, mode in ((_MAJOR_PROFILE, _MAJOR_NAMES, "major"), (_MINOR_PROFILE, _MINOR_NAMES, "minor")):
            r = float(np.corrcoef(rotated, template)[0, 1])
            if r > best_r:
                best_r, best_name = r, f"{names[tonic]} {mode}"
    return best_name, float(np.clip(best_r, 0.0, 1.0))


def loudness_and_energy(samples: np.ndarray) -> tuple[float, float]:
    """(RMS level in dBFS of the whole signal, energy 0..1 from frame RMS levels); see the module docstring."""
    mean_square = float(np.mean(np.square(samples, dtype=np.float64)))
    # A full-scale square wave has RMS 1 = 0 dBFS.
    loudness = 10.0 * np.log10(mean_square) if mean_square > 0 else LOUDNESS_FLOOR_DB
    rms = librosa.feature.rms(y=samples, frame_length=FRAME_LENGTH, hop_length=HOP_LENGTH)[0]
    frame_db = 20.0 * np.log10(np.maximum(rms, 1e-12))
    energy = float(np.mean(np.clip((frame_db - ENERGY_FLOOR_DB) / -ENERGY_FLOOR_DB, 0.0, 1.0)))
    return max(float(loudness), LOUDNESS_FLOOR_DB), energy


def compute_features(source: Path | str | np.ndarray, sample_rate: int = FEATURE_RATE) -> AudioFeatures:
    """Tempo, key, energy and loudness of an audio file (any format ``decode_audio`` reads) or of samples.

    ``sample_rate`` is the rate of ``source`` when it is an array (mono, or stereo either way round).
    Raises ``audio.decode.AudioDecodeError`` for an unreadable file and ``ValueError`` for empty samples.
    """
    samples = _samples(source, sample_rate)
    loudness, energy = loudness_and_energy(samples)
    tempo = estimate_tempo(samples)
    key, confidence = estimate_key(samples)
    return AudioFeatures(
        tempo_bpm=None if tempo is None else round(tempo, 2),
        key=key,
        key_confidence=round(confidence, 3),
        energy=round(energy, 3),
        loudness_db=round(loudness, 2),
    )
