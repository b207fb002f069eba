"""Landmark fingerprints: pairs of spectral peaks hashed into 32-bit integers (Shazam / audfprint style).

A peak in the log spectrogram survives additive noise, EQ and lossy coding far better than the
spectrum around it; a *pair* of peaks (anchor frequency, target frequency, time between them) is
specific enough to look up and, unlike a single peak, carries no absolute time — so the same song
gives the same hashes wherever the radio chunk happens to cut it.
"""

from __future__ import annotations

import numpy as np
import polars as pl
import soxr
from scipy import ndimage, signal

from audio.decode import SAMPLE_RATE

# 1024-point FFT at 11025 Hz: 93 ms window, 10.8 Hz bins — enough to separate neighbouring partials
# of notes. Hop 256 (23 ms frames, 75 % overlap) keeps peak times stable when a radio chunk starts at
# an arbitrary sample, at ~43 frames/s, the audfprint time resolution.
N_FFT = 1024
HOP = 256
FRAME_SECONDS = HOP / SAMPLE_RATE

# Bins 1..511 only: drops DC and the Nyquist bin so a frequency fits in 9 bits.
_MAX_BIN = 511

# A peak must be the maximum of a neighbourhood ~±150 Hz by ±~100 ms: it keeps the dominant partials
# and ignores the ripple around them.
_PEAK_FREQ_NEIGHBOURS = 29
_PEAK_TIME_NEIGHBOURS = 9
# Peaks more than this far below the loudest spectral value are floor noise or digital silence.
_PEAK_FLOOR_DB = 60.0
# Keep about PEAKS_PER_SECOND of the strongest peaks around each moment: an even density over time, so
# quiet passages still produce hashes and dense ones do not flood the index.
PEAKS_PER_SECOND = 20
_DENSITY_WINDOW = 43  # frames either side: ~1 s, long enough to even out a bar of music

# Target zone: up to FANOUT partners 1..63 frames (up to 1.46 s) later and within ±127 bins (±1.37 kHz).
FANOUT = 5
MAX_DT = 63
_MAX_DF = 127
_DT_BITS = 6
_DF_BITS = 8

# Bump when anything above changes: indexes built with another version must be re-fingerprinted.
FINGERPRINT_VERSION = "landmark-v1"

# ~47 s of frames per FFT block: bounds the windowed-frame copy for hour-long files to ~8 MB.
_FFT_BLOCK_FRAMES = 2048

HASH_SCHEMA = {"hash": pl.UInt32, "t": pl.Int32}


def _log_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Log-magnitude STFT (dB), shape (bins 1..511, frames); frame t is centred on sample t*HOP."""
    padded = np.pad(samples.astype(np.float32, copy=False), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    window = signal.get_window("hann", N_FFT).astype(np.float32)
    log_spec = np.empty((_MAX_BIN, frames.shape[0]), dtype=np.float32)
    # FFT in blocks so a long file never materialises all its windowed frames at once.
    for start in range(0, frames.shape[0], _FFT_BLOCK_FRAMES):
        block = frames[start : start + _FFT_BLOCK_FRAMES] * window
        magnitude = np.abs(np.fft.rfft(block, axis=1))[:, 1 : _MAX_BIN + 1].T
        log_spec[:, start : start + block.shape[0]] = 20.0 * np.log10(np.maximum(magnitude, 1e-10))
    return log_spec


def _pick_peaks(log_spec: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Peak (frame, bin) coordinates, sorted by frame then bin, thinned to the target density."""
    local_max = ndimage.maximum_filter(
        log_spec, size=(_PEAK_FREQ_NEIGHBOURS, _PEAK_TIME_NEIGHBOURS), mode="constant", cval=-np.inf
    )
    floor = log_spec.max() - _PEAK_FLOOR_DB
    bins, frames = np.nonzero((log_spec == local_max) & (log_spec > floor))
    by_time = np.lexsort((bins, frames))
    frames, bins = frames[by_time], bins[by_time]
    magnitude = log_spec[bins, frames]
    # Keep a peak when fewer than the density budget of stronger peaks lie within ±_DENSITY_WINDOW
    # frames of it. A sliding window (not fixed blocks) keeps the choice independent of where the
    # recording starts, which is what makes a radio chunk pick the same peaks as the full track.
    neighbour, peak = _window_pairs(frames, frames - _DENSITY_WINDOW, frames + _DENSITY_WINDOW)
    stronger = np.bincount(peak, weights=magnitude[neighbour] > magnitude[peak], minlength=frames.size)
    budget = PEAKS_PER_SECOND * (2 * _DENSITY_WINDOW + 1) * FRAME_SECONDS
    keep = stronger < budget
    return frames[keep], bins[keep] + 1  # +1: row 0 of log_spec is FFT bin 1


def _window_pairs(frames: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(j, i) for every peak j whose frame lies in [first[i], last[i]]; ``frames`` must be sorted.

    The peaks in a time window are a contiguous run of the sorted array, so all runs are expanded at
    once with repeat/cumsum instead of a loop over peaks. Pairs come out ordered by i, then by j.
    """
    lo = np.searchsorted(frames, first, side="left")
    hi = np.searchsorted(frames, last, side="right")
    counts = hi - lo
    owner = np.repeat(np.arange(frames.size), counts)
    run_start = np.repeat(np.cumsum(counts) - counts, counts)
    member = np.repeat(lo, counts) + (np.arange(owner.size) - run_start)
    return member, owner


def _pair_peaks(frames: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(anchor index, target index, dt) for each anchor's first FANOUT peaks in its target zone."""
    target, anchor = _window_pairs(frames, frames + 1, frames + MAX_DT)
    in_zone = np.abs(bins[target] - bins[anchor]) <= _MAX_DF
    anchor, target = anchor[in_zone], target[in_zone]
    # Candidates are ordered by anchor then time: keep each anchor's first FANOUT.
    first = np.searchsorted(anchor, anchor, side="left")
    keep = (np.arange(anchor.size) - first) < FANOUT
    anchor, target = anchor[keep], target[keep]
    return anchor, target, frames[target] - frames[anchor]


def pack_hash(f_anchor: np.ndarray, f_target: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Pack (anchor bin: 9 bits, target − anchor bin + 128: 8 bits, dt: 6 bits) into the low 23 bits.

    The top 9 bits stay zero, free for a later, finer hash without changing the column type.
    """
    df = (f_target.astype(np.int64) - f_anchor + _MAX_DF + 1) & ((1 << _DF_BITS) - 1)
    packed = (
        (f_anchor.astype(np.int64) << (_DF_BITS + _DT_BITS)) | (df << _DT_BITS) | (dt.astype(np.int64))
    )
    return packed.astype(np.uint32)


def hash_dt(hashes: np.ndarray) -> np.ndarray:
    """The anchor→target frame distance stored in each hash (where the landmark ends)."""
    return (hashes & ((1 << _DT_BITS) - 1)).astype(np.int32)


def landmark_hashes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> pl.DataFrame:
    """Landmark hashes of mono samples: columns ``hash`` (UInt32) and ``t`` (Int32, anchor STFT frame).

    Audio at another ``sample_rate`` is resampled to ``SAMPLE_RATE`` first, so ``t`` is always in frames
    of ``FRAME_SECONDS``. Silence or less than one FFT window of audio gives an empty frame.
    """
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"landmark_hashes expects mono samples, got shape {samples.shape}")
    if sample_rate != SAMPLE_RATE and samples.size:
        samples = soxr.resample(samples, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    if samples.size < N_FFT or not np.any(samples):
        return pl.DataFrame(schema=HASH_SCHEMA)
    log_spec = _log_spectrogram(samples)
    frames, bins = _pick_peaks(log_spec)
    anchor, target, dt = _pair_peaks(frames, bins)
    return pl.DataFrame(
        {
            "hash": pack_hash(bins[anchor], bins[target], dt),
            "t": frames[anchor].astype(np.int32),
        },
        schema=HASH_SCHEMA,
    )
