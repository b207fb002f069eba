"""Landmark fingerprints: pairs of spectral peaks hashed into integers (Shazam / audfprint style), made
searchable under playback-speed changes.

A peak in the spectrogram survives additive noise, EQ and lossy coding far better than the spectrum around
it; a *pair* of peaks (anchor frequency, target frequency, time between them) is specific enough to look up
and, unlike a single peak, carries no absolute time — so the same song gives the same hashes wherever the
radio chunk happens to cut it.

Radio often plays songs a few per cent fast by resampling: every frequency is multiplied by the speed s and
every duration divided by it. The hash is built so that this is cheap to undo on the query side:

- the anchor frequency is quantised on a *logarithmic* scale, so a speed change shifts every anchor by the
  same amount, whatever its frequency — a handful of speed hypotheses covers ±4 % at any pitch;
- the target is stored as the *ratio* f_target / f_anchor, which speed does not change at all;
- the time between the peaks is rescaled per hypothesis (it moves by at most 2.5 frames at ±4 %).

Peak positions are refined to a fraction of a bin and of a frame (parabolic interpolation), so the chunk's
arbitrary start sample and the rescaling do not add a full bin or frame of rounding error.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import scipy.fft
import soxr

from audio.decode import SAMPLE_RATE

# 1024-point FFT at 11025 Hz: 93 ms window, 10.8 Hz bins — enough to separate neighbouring partials
# of notes. Hop 256 (23 ms frames, 75 % overlap), ~43 frames/s, the audfprint time resolution.
N_FFT = 1024
HOP = 256
FRAME_SECONDS = HOP / SAMPLE_RATE

# FFT bins 3..511 (32 Hz .. 5.5 kHz): below 32 Hz there is rumble, not music.
_MIN_BIN = 3
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

# Target zone: up to FANOUT partners 1..63 frames (up to 1.46 s) later, within a frequency ratio of 2.5.
FANOUT = 5
MAX_DT = 63
_MAX_LOG_RATIO = float(np.log(2.5))

# Hash layout, 22 bits: anchor log-frequency (9 bits, 2 % steps from bin 3 up), log frequency ratio
# (7 bits, 1.45 % steps over 1/2.5 .. 2.5), dt (6 bits, whole frames).
ANCHOR_STEP = 0.02
_RATIO_BITS = 7
_RATIO_STEP = 2 * _MAX_LOG_RATIO / (1 << _RATIO_BITS)
_DT_BITS = 6
HASH_BITS = 9 + _RATIO_BITS + _DT_BITS

# Bump when anything above changes: indexes built with another version must be re-fingerprinted.
FINGERPRINT_VERSION = "landmark-v2-logfreq"

# ~47 s of frames per FFT block: bounds the windowed-frame copy for hour-long files to ~8 MB.
_FFT_BLOCK_FRAMES = 2048

HASH_SCHEMA = {"hash": pl.UInt32, "t": pl.Int32}
# Periodic Hann window (what ``scipy.signal.get_window("hann", N_FFT)`` gives), written out: importing
# scipy.signal costs half a CPU-second per process.
_WINDOW = (0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)


@dataclass(frozen=True)
class Landmarks:
    """Peak pairs at sub-bin, sub-frame precision: anchor time ``t`` and ``dt`` in frames, ``f1``/``f2`` in bins."""

    t: np.ndarray
    dt: np.ndarray
    f1: np.ndarray
    f2: np.ndarray

    @property
    def size(self) -> int:
        return int(self.t.size)


_EMPTY = Landmarks(*(np.zeros(0, dtype=np.float32) for _ in range(4)))


def _power_spectrogram(samples: np.ndarray) -> np.ndarray:
    """Power STFT, shape (FFT bins 0..511, frames), float32; frame t is centred on sample t*HOP."""
    padded = np.pad(samples.astype(np.float32, copy=False), N_FFT // 2)
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.empty((frames.shape[0], _MAX_BIN + 1), dtype=np.float32)
    # FFT in blocks so a long file never materialises all its windowed frames at once.
    for start in range(0, frames.shape[0], _FFT_BLOCK_FRAMES):
        # scipy's FFT keeps float32 in single precision (numpy's is slower at it than in double).
        # The windowed copy is ours to overwrite; the power is squared into place, without temporaries.
        spectrum = scipy.fft.rfft(frames[start : start + _FFT_BLOCK_FRAMES] * _WINDOW, axis=1, overwrite_x=True)
        spectrum = spectrum[:, : _MAX_BIN + 1]
        block = power[start : start + spectrum.shape[0]]
        np.square(spectrum.real, out=block)
        block += np.square(spectrum.imag)
    return power.T


def _running_max(values: np.ndarray, size: int, axis: int) -> np.ndarray:
    """Centred moving maximum of odd width ``size`` along ``axis``, -inf beyond the edges.

    Max over windows of 1, 2, 4, ... by doubling, then two overlapping windows cover ``size``: a few
    whole-array ``np.maximum`` calls, several times faster than ``scipy.ndimage.maximum_filter`` here.
    Slices are taken along ``axis`` in place (no ``moveaxis``), so the array keeps its memory layout.
    """
    n = values.shape[axis]
    pad_shape = list(values.shape)
    pad_shape[axis] = size // 2
    pad = np.full(pad_shape, -np.inf, dtype=values.dtype)
    running = np.concatenate([pad, values, pad], axis=axis)

    def cut(array: np.ndarray, start: int | None, stop: int | None) -> np.ndarray:
        index = [slice(None)] * array.ndim
        index[axis] = slice(start, stop)
        return array[tuple(index)]

    width = 1
    while 2 * width <= size:
        running = np.maximum(cut(running, None, -width), cut(running, width, None))
        width *= 2
    return np.maximum(cut(running, 0, n), cut(running, size - width, size - width + n))


def _vertex(left: np.ndarray, centre: np.ndarray, right: np.ndarray) -> np.ndarray:
    """Offset (−0.5..0.5) of a parabola's vertex through three log-power samples around a maximum."""
    curvature = left - 2.0 * centre + right
    with np.errstate(divide="ignore", invalid="ignore"):
        offset = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
    return np.clip(offset, -0.5, 0.5)


def _pick_peaks(power: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peaks as (frame, bin) integers and refined (time, frequency), sorted by frame then bin, thinned."""
    # (frames, bins): the STFT's own contiguous layout (``power`` is its transpose), so the maxima run over
    # contiguous rows, and ``nonzero`` comes out sorted by frame, then bin.
    band = power[_MIN_BIN:].T
    local_max = _running_max(_running_max(band, _PEAK_FREQ_NEIGHBOURS, 1), _PEAK_TIME_NEIGHBOURS, 0)
    floor = band.max() * 10.0 ** (-_PEAK_FLOOR_DB / 10.0)
    frames, rows = np.nonzero((band == local_max) & (band > floor))
    bins = rows + _MIN_BIN
    magnitude = power[bins, frames]
    # Keep a peak when fewer than the density budget of stronger peaks lie within ±_DENSITY_WINDOW
    # frames of it. A sliding window (not fixed blocks) keeps the choice independent of where the
    # recording starts, which is what makes a radio chunk pick the same peaks as the full track.
    neighbour, peak = _window_pairs(frames, frames - _DENSITY_WINDOW, frames + _DENSITY_WINDOW)
    stronger = np.bincount(peak, weights=magnitude[neighbour] > magnitude[peak], minlength=frames.size)
    budget = PEAKS_PER_SECOND * (2 * _DENSITY_WINDOW + 1) * FRAME_SECONDS
    keep = stronger < budget
    frames, bins = frames[keep], bins[keep]
    # Sub-bin / sub-frame position from the log power of the neighbours (edges fall back to the grid).
    log_power = lambda b, f: np.log(np.maximum(power[b, f], 1e-20))  # noqa: E731
    centre = log_power(bins, frames)
    up, down = np.minimum(bins + 1, _MAX_BIN), bins - 1
    df = _vertex(log_power(down, frames), centre, log_power(up, frames))
    last = power.shape[1] - 1
    before, after = np.maximum(frames - 1, 0), np.minimum(frames + 1, last)
    dt = _vertex(log_power(bins, before), centre, log_power(bins, after))
    dt[(frames == 0) | (frames == last)] = 0.0
    return frames, bins, frames + dt, bins + df


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


def _pair_peaks(frames: np.ndarray, freqs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(anchor index, target index) for each anchor's first FANOUT peaks in its target zone."""
    target, anchor = _window_pairs(frames, frames + 1, frames + MAX_DT)
    in_zone = np.abs(np.log(freqs[target] / freqs[anchor])) <= _MAX_LOG_RATIO
    anchor, target = anchor[in_zone], target[in_zone]
    # Candidates are ordered by anchor then time: keep each anchor's first FANOUT.
    first = np.searchsorted(anchor, anchor, side="left")
    keep = (np.arange(anchor.size) - first) < FANOUT
    return anchor[keep], target[keep]


def landmarks(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> Landmarks:
    """The peak pairs of mono samples (resampled to ``SAMPLE_RATE`` first when needed)."""
    samples = np.asarray(samples, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"landmark_hashes expects mono samples, got shape {samples.shape}")
    if sample_rate != SAMPLE_RATE and samples.size:
        samples = soxr.resample(samples, sample_rate, SAMPLE_RATE, quality="HQ").astype(np.float32)
    if samples.size < N_FFT or not np.any(samples):
        return _EMPTY
    frames, _, times, freqs = _pick_peaks(_power_spectrogram(samples))
    anchor, target = _pair_peaks(frames, freqs)
    return Landmarks(
        t=times[anchor].astype(np.float32),
        dt=(times[target] - times[anchor]).astype(np.float32),
        f1=freqs[anchor].astype(np.float32),
        f2=freqs[target].astype(np.float32),
    )


def pack_hash(f_anchor: np.ndarray, f_target: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Pack (anchor log-frequency: 9 bits, log(f_target / f_anchor): 7 bits, dt: 6 bits) into 22 bits.

    Frequencies are in (fractional) FFT bins, ``dt`` in (fractional) frames. The top 10 bits stay zero.
    """
    log_anchor = np.log(np.asarray(f_anchor, dtype=np.float64) / _MIN_BIN)
    anchor_code = np.clip(np.floor(log_anchor / ANCHOR_STEP), 0, 511).astype(np.int64)
    log_ratio = np.log(np.asarray(f_target, dtype=np.float64) / f_anchor)
    ratio_code = np.clip(np.floor((log_ratio + _MAX_LOG_RATIO) / _RATIO_STEP), 0, (1 << _RATIO_BITS) - 1)
    dt_code = np.clip(np.rint(dt), 0, (1 << _DT_BITS) - 1).astype(np.int64)
    packed = (anchor_code << (_RATIO_BITS + _DT_BITS)) | (ratio_code.astype(np.int64) << _DT_BITS) | dt_code
    return packed.astype(np.uint32)


def speed_hashes(marks: Landmarks, speeds: np.ndarray) -> np.ndarray:
    """Hashes the landmarks would have in the reference if the query were played at each speed.

    Shape (len(speeds), marks.size). A query at speed s has frequencies ×s and durations ÷s, so the
    reference's are the query's ÷s and ×s.
    """
    speeds = np.asarray(speeds, dtype=np.float64)[:, None]
    return pack_hash(marks.f1[None, :] / speeds, marks.f2[None, :] / speeds, marks.dt[None, :] * speeds)


def hash_dt(hashes: np.ndarray) -> np.ndarray:
    """The anchor→target frame distance stored in each hash (where the landmark ends)."""
    return (hashes & ((1 << _DT_BITS) - 1)).astype(np.int32)


def landmark_hashes(samples: np.ndarray, sample_rate: int = SAMPLE_RATE) -> pl.DataFrame:
    """Landmark hashes of mono samples: columns ``hash`` (UInt32) and ``t`` (Int32, anchor STFT frame).

    Audio at another ``sample_rate`` is resampled to ``SAMPLE_RATE`` first, so ``t`` is always in frames
    of ``FRAME_SECONDS``. Silence or less than one FFT window of audio gives an empty frame.
    """
    marks = landmarks(samples, sample_rate)
    return pl.DataFrame(
        {"hash": pack_hash(marks.f1, marks.f2, marks.dt), "t": np.rint(marks.t).astype(np.int32)},
        schema=HASH_SCHEMA,
    )
