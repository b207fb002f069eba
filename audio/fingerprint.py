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

Stations' time compressors change the tempo and keep the pitch: durations are divided by the tempo factor and
frequencies stay put. Only ``dt`` moves then, so the same query-side rescaling covers it with frequency factor 1
(``hypothesis_hashes``): one hash layout for both, and indexes need no rebuild.

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

# Frames per block of the STFT (~6 s, 1 MB of windowed frames) and of the peak search (~3 s, ~0.3 MB per
# temporary): small enough to stay in the CPU cache and to be reused from the allocator's free lists chunk
# after chunk (fresh multi-MB arrays cost a page fault per 4 KB on every chunk), large enough that the
# per-block Python overhead is noise. Neither changes a result.
_FFT_BLOCK_FRAMES = 256
_PEAK_BLOCK_FRAMES = 128

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
    """Power STFT, shape (frames, FFT bins 0..511), float32; frame t is centred on sample t*HOP."""
    padded = np.zeros(samples.size + N_FFT, dtype=np.float32)
    padded[N_FFT // 2 : N_FFT // 2 + samples.size] = samples
    frames = np.lib.stride_tricks.sliding_window_view(padded, N_FFT)[::HOP]
    power = np.empty((frames.shape[0], _MAX_BIN + 1), dtype=np.float32)
    windowed = np.empty((min(_FFT_BLOCK_FRAMES, frames.shape[0]), N_FFT), dtype=np.float32)
    # FFT in blocks (see _FFT_BLOCK_FRAMES): a long file never materialises all its windowed frames at once.
    for start in range(0, frames.shape[0], _FFT_BLOCK_FRAMES):
        block = frames[start : start + _FFT_BLOCK_FRAMES]
        # scipy's FFT keeps float32 in single precision (numpy's is slower at it than in double). The
        # windowed frames are scratch it may overwrite; the spectrum is squared in place as interleaved
        # (re, im) floats, then each pair summed straight into ``power``: no temporaries.
        np.multiply(block, _WINDOW, out=windowed[: block.shape[0]])
        spectrum = scipy.fft.rfft(windowed[: block.shape[0]], axis=1, overwrite_x=True)
        parts = spectrum.view(np.float32)[:, : 2 * (_MAX_BIN + 1)]
        np.multiply(parts, parts, out=parts)
        np.add(parts[:, 0::2], parts[:, 1::2], out=power[start : start + block.shape[0]])
    return power


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


def _local_maxima(power: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(frame, bin) of every point of bins _MIN_BIN.. that is the maximum of its neighbourhood, sorted by
    frame then bin.

    Block by block of frames (plus the neighbourhood's reach either side), so the running maxima's
    temporaries stay small enough for the CPU cache and the allocator's free lists whatever the length.
    """
    reach = _PEAK_TIME_NEIGHBOURS // 2
    frames: list[np.ndarray] = []
    bins: list[np.ndarray] = []
    for start in range(0, power.shape[0], _PEAK_BLOCK_FRAMES):
        stop = min(start + _PEAK_BLOCK_FRAMES, power.shape[0])
        lo, hi = max(start - reach, 0), min(stop + reach, power.shape[0])
        band = power[lo:hi, _MIN_BIN:]
        local_max = _running_max(_running_max(band, _PEAK_FREQ_NEIGHBOURS, 1), _PEAK_TIME_NEIGHBOURS, 0)
        inner = slice(start - lo, stop - lo)
        flat = np.flatnonzero(band[inner] == local_max[inner])
        frames.append(flat // band.shape[1] + start)
        bins.append(flat % band.shape[1] + _MIN_BIN)
    if not frames:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    return np.concatenate(frames), np.concatenate(bins)


def _pick_peaks(power: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Peaks as (frame, bin) integers and refined (time, frequency), sorted by frame then bin, thinned."""
    frames, bins = _local_maxima(power)
    magnitude = power[frames, bins]
    # Peaks more than _PEAK_FLOOR_DB below the loudest point (itself a local maximum) are floor noise.
    loud = magnitude > magnitude.max(initial=0.0) * np.float32(10.0 ** (-_PEAK_FLOOR_DB / 10.0))
    frames, bins, magnitude = frames[loud], bins[loud], magnitude[loud]
    # Keep a peak when fewer than the density budget of stronger peaks lie within ±_DENSITY_WINDOW
    # frames of it. A sliding window (not fixed blocks) keeps the choice independent of where the
    # recording starts, which is what makes a radio chunk pick the same peaks as the full track.
    neighbour, counts = _window_members(frames, frames - _DENSITY_WINDOW, frames + _DENSITY_WINDOW)
    stronger_mask = (magnitude[neighbour] > np.repeat(magnitude, counts)).view(np.uint8)
    # Every window holds its own peak, so no run is empty and ``reduceat`` sums exactly each run.
    stronger = np.add.reduceat(stronger_mask, np.cumsum(counts) - counts, dtype=np.int32) if frames.size else counts
    budget = PEAKS_PER_SECOND * (2 * _DENSITY_WINDOW + 1) * FRAME_SECONDS
    keep = stronger < budget
    frames, bins = frames[keep], bins[keep]
    # Sub-bin / sub-frame position from the log power of the neighbours (edges fall back to the grid).
    log_power = lambda f, b: np.log(np.maximum(power[f, b], 1e-20))  # noqa: E731
    centre = log_power(frames, bins)
    up, down = np.minimum(bins + 1, _MAX_BIN), bins - 1
    df = _vertex(log_power(frames, down), centre, log_power(frames, up))
    last = power.shape[0] - 1
    before, after = np.maximum(frames - 1, 0), np.minimum(frames + 1, last)
    dt = _vertex(log_power(before, bins), centre, log_power(after, bins))
    dt[(frames == 0) | (frames == last)] = 0.0
    return frames, bins, frames + dt, bins + df


def _window_members(frames: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each peak i in turn, every peak j whose frame lies in [first[i], last[i]]: (j for all i, run length
    per i). ``frames`` must be sorted.

    The peaks in a time window are a contiguous run of the sorted array, so all runs are expanded at
    once with one repeat instead of a loop over peaks.
    """
    lo = np.searchsorted(frames, first, side="left")
    counts = np.searchsorted(frames, last, side="right") - lo
    # j = lo[i] + (position in the output - start of i's run in the output).
    member = np.arange(int(counts.sum()), dtype=np.int64)
    member += np.repeat(lo - (np.cumsum(counts) - counts), counts)
    return member, counts


def _window_pairs(frames: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(j, i) for every peak j whose frame lies in [first[i], last[i]]; ``frames`` must be sorted.

    Pairs come out ordered by i, then by j.
    """
    member, counts = _window_members(frames, first, last)
    return member, np.repeat(np.arange(frames.size), counts)


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


def anchor_code(freq_bins: np.ndarray) -> np.ndarray:
    """The log-frequency of (fractional) FFT bins in ``ANCHOR_STEP`` steps from bin ``_MIN_BIN``, unrounded: a
    hash stores its anchor's floor (``hash_anchor_code``)."""
    return np.log(np.asarray(freq_bins, dtype=np.float64) / _MIN_BIN) / ANCHOR_STEP


def hash_anchor_code(hashes: np.ndarray) -> np.ndarray:
    """The anchor code stored in each hash (its top 9 bits)."""
    return np.asarray(hashes, dtype=np.int64) >> (_RATIO_BITS + _DT_BITS)


def pack_hash(f_anchor: np.ndarray, f_target: np.ndarray, dt: np.ndarray) -> np.ndarray:
    """Pack (anchor log-frequency: 9 bits, log(f_target / f_anchor): 7 bits, dt: 6 bits) into 22 bits.

    Frequencies are in (fractional) FFT bins, ``dt`` in (fractional) frames. The top 10 bits stay zero.
    """
    anchor = np.clip(np.floor(anchor_code(f_anchor)), 0, 511).astype(np.int64)
    log_ratio = np.log(np.asarray(f_target, dtype=np.float64) / f_anchor)
    ratio_code = np.clip(np.floor((log_ratio + _MAX_LOG_RATIO) / _RATIO_STEP), 0, (1 << _RATIO_BITS) - 1)
    dt_code = np.clip(np.rint(dt), 0, (1 << _DT_BITS) - 1).astype(np.int64)
    packed = (anchor << (_RATIO_BITS + _DT_BITS)) | (ratio_code.astype(np.int64) << _DT_BITS) | dt_code
    return packed.astype(np.uint32)


def hypothesis_hashes(marks: Landmarks, freq_factors: np.ndarray, time_factors: np.ndarray) -> np.ndarray:
    """Hashes the landmarks would have in the reference if the query's frequencies were the reference's ×
    ``freq_factors[h]`` and its durations the reference's ÷ ``time_factors[h]``, for each hypothesis h.

    Shape (len(freq_factors), marks.size). Playback speed s is (s, s); a tempo change r with the pitch kept
    (a time compressor) is (1, r).
    """
    # ``pack_hash`` of (f1 / freq, f2 / freq, dt × time), without a logarithm per hypothesis: the ratio code
    # does not depend on the hypothesis, and the anchor's log-frequency only moves by log(freq).
    freq = np.asarray(freq_factors, dtype=np.float64)[:, None]
    time = np.asarray(time_factors, dtype=np.float64)[:, None]
    log_anchor = np.log(marks.f1.astype(np.float64) / _MIN_BIN)
    log_ratio = np.log(marks.f2.astype(np.float64) / marks.f1)
    ratio_code = np.clip(np.floor((log_ratio + _MAX_LOG_RATIO) / _RATIO_STEP), 0, (1 << _RATIO_BITS) - 1)
    anchor = np.floor((log_anchor[None, :] - np.log(freq)) / ANCHOR_STEP)
    np.clip(anchor, 0, 511, out=anchor)
    dt_code = np.rint(marks.dt[None, :] * time)
    np.clip(dt_code, 0, (1 << _DT_BITS) - 1, out=dt_code)
    packed = anchor.astype(np.uint32) << (_RATIO_BITS + _DT_BITS)
    packed |= (ratio_code.astype(np.uint32) << _DT_BITS)[None, :]
    packed |= dt_code.astype(np.uint32)
    return packed


def speed_hashes(marks: Landmarks, speeds: np.ndarray) -> np.ndarray:
    """Hashes the landmarks would have in the reference if the query were played at each speed.

    Shape (len(speeds), marks.size). A query at speed s has frequencies ×s and durations ÷s, so the
    reference's are the query's ÷s and ×s.
    """
    return hypothesis_hashes(marks, speeds, speeds)


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
