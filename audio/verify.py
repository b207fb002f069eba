"""Peak-overlap verification: is a given track playing in a chunk at a given alignment?

A landmark needs both of its peaks to survive the broadcast. Off air (a room's reverberation, a narrow band,
noise a few dB under the programme) most pairs lose one of them: a peak kept with probability p leaves a pair
with p², and a quiet song's chunk may hold no line at all. Once *where* to look is known (the track, the song's
start and its speed, from a detection of the same broadcast in another chunk), single peaks are enough: map
each of the chunk's peaks through that alignment and count those that land on a peak of the reference (within
±1 frame and ±1 anchor code). Audio unrelated to the track lands on its peaks at the rate those peaks occupy the
query's frequency rows over the whole track (the *occupancy*: the expected count under chance); the song itself
lands several times as often.

``Evidence.z`` is the excess over chance in standard deviations (Poisson). The airplay benchmark's off-air
chunks (bench/README.md, "Peak-overlap verification") measured it: at the true alignment of a song (at least
3 s of it in the chunk) a median of 24; for 1,744 random (other track, alignment) pairs 2.7 at the 99th
percentile and 5.0 at most. Music made of the same sounds at the same tempo passes 6 (the demo's synthetic
non-catalog music against its catalog), so the evidence confirms an alignment that lines found, never a
track on its own (``audio.broadcasts``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from audio.fingerprint import ANCHOR_STEP, Landmarks, anchor_code, hash_anchor_code
from audio.index import track_file

# Keys pack (frame, anchor code): 9-bit codes with room either side for the ±1 tolerance.
_CODE_SPAN = 1024
_CODE_PAD = 256
# A query peak counts when a reference peak lies within one frame and one anchor code (2 % of frequency).
_TOLERANCE = (np.arange(-1, 2)[:, None] * _CODE_SPAN + np.arange(-1, 2)[None, :]).ravel()
# The chance count is floored at this for the z-score: a handful of peaks inside the track says nothing.
_MIN_EXPECTED = 4.0
# A peak that misses costs the run this many times its chance of a hit, so chance alone (hits at that chance)
# loses ground and the run stops where the song does.
_RUN_COST = 2.0
# Reference tables kept per matcher call: a few hundred KB each.
_CACHED_TRACKS = 128


@dataclass(frozen=True)
class QueryPeaks:
    """A chunk's spectral peaks: ``t`` in STFT frames, ``code`` the anchor code (log-frequency) as a float."""

    t: np.ndarray
    code: np.ndarray

    @property
    def size(self) -> int:
        return int(self.t.size)


def query_peaks(marks: Landmarks) -> QueryPeaks:
    """The distinct peaks of a chunk's landmarks (their anchors and targets)."""
    t = np.concatenate([marks.t, marks.t + marks.dt]).astype(np.float64)
    f = np.concatenate([marks.f1, marks.f2]).astype(np.float64)
    if t.size:
        _, first = np.unique(np.rint(t * 1000.0) * 1e7 + np.rint(f * 1000.0), return_index=True)
        t, f = t[first], f[first]
    return QueryPeaks(t=t.astype(np.float32), code=anchor_code(f).astype(np.float32))


@dataclass(frozen=True)
class ReferencePeaks:
    """A track's anchor peaks as sorted keys (frame × ``_CODE_SPAN`` + code + ``_CODE_PAD``) widened by the
    tolerance, the share of the track's frames in which each code row holds one (``occupancy``), and its
    length in frames."""

    keys: np.ndarray
    occupancy: np.ndarray
    n_frames: int


def reference_peaks(hashes: np.ndarray, t: np.ndarray) -> ReferencePeaks:
    """Reference peaks from a track's stored landmarks (``hash``, anchor frame ``t``)."""
    code = hash_anchor_code(hashes) + _CODE_PAD
    frames = np.asarray(t, dtype=np.int64)
    if frames.size == 0:
        return ReferencePeaks(np.zeros(0, dtype=np.int64), np.zeros(_CODE_SPAN), 0)
    keys = np.unique(frames * _CODE_SPAN + code)
    widened = np.unique((keys[:, None] + _TOLERANCE[None, :]).ravel())
    n_frames = int(frames.max()) + 2
    occupancy = np.bincount(widened % _CODE_SPAN, minlength=_CODE_SPAN) / n_frames
    return ReferencePeaks(keys=widened, occupancy=occupancy, n_frames=n_frames)


class ReferenceCache:
    """Reference peaks read from an index's cached per-track landmarks, the most recently used kept."""

    def __init__(self, index_dir: Path, size: int = _CACHED_TRACKS) -> None:
        self._index_dir = Path(index_dir)
        self._size = size
        self._tracks: OrderedDict[str, ReferencePeaks | None] = OrderedDict()

    def get(self, track_id: str) -> ReferencePeaks | None:
        """The track's peaks, or None when the index holds no landmarks for it."""
        if track_id in self._tracks:
            self._tracks.move_to_end(track_id)
            return self._tracks[track_id]
        path = track_file(self._index_dir, track_id)
        peaks = None
        if path.is_file():
            stored = pl.read_parquet(path, columns=["hash", "t"])
            peaks = reference_peaks(stored["hash"].to_numpy(), stored["t"].to_numpy())
        self._tracks[track_id] = peaks
        if len(self._tracks) > self._size:
            self._tracks.popitem(last=False)
        return peaks


@dataclass(frozen=True)
class Evidence:
    """Query peaks that landed inside the track (``inside``), on one of its peaks (``hits``), how many would by
    chance (``expected``), and the stretch of the query where the hits gather (``first_frame`` .. ``last_frame``,
    query frames; see ``_densest_run``)."""

    hits: int
    expected: float
    inside: int
    first_frame: float = 0.0
    last_frame: float = 0.0

    @property
    def z(self) -> float:
        """Hits over chance, in standard deviations of a Poisson count."""
        expected = max(self.expected, _MIN_EXPECTED)
        return (self.hits - self.expected) / float(np.sqrt(expected))


NO_EVIDENCE = Evidence(0, 0.0, 0)


def overlap(
    query: QueryPeaks, reference: ReferencePeaks, offset_frames: float, time_factor: float, freq_factor: float
) -> Evidence:
    """Evidence that the query is the reference at t_ref = offset + time_factor × t_query, every frequency of
    the query being the reference's × ``freq_factor``."""
    if query.size == 0 or reference.n_frames == 0:
        return NO_EVIDENCE
    frames = np.rint(offset_frames + time_factor * query.t.astype(np.float64)).astype(np.int64)
    codes = np.floor(query.code - np.log(freq_factor) / ANCHOR_STEP).astype(np.int64) + _CODE_PAD
    inside = (frames >= 0) & (frames < reference.n_frames) & (codes >= 1) & (codes < _CODE_SPAN - 1)
    keys = frames[inside] * _CODE_SPAN + codes[inside]
    if keys.size == 0:
        return NO_EVIDENCE
    found = np.minimum(np.searchsorted(reference.keys, keys), reference.keys.size - 1)
    hit = reference.keys[found] == keys
    chance = reference.occupancy[codes[inside]]
    first, last = _densest_run(query.t[inside], hit, chance)
    return Evidence(int(np.count_nonzero(hit)), float(chance.sum()), int(keys.size), first, last)


def _densest_run(t: np.ndarray, hit: np.ndarray, chance: np.ndarray) -> tuple[float, float]:
    """The stretch of time (first, last peak frame) where hits most exceed chance: the maximum-sum run of
    (hit − chance) over the peaks in time order. A lone chance hit seconds away from the rest does not pay for
    the misses between, so the run ends where the song stops landing on its peaks (a DJ cutting it short)."""
    if not hit.any():
        return 0.0, 0.0
    order = np.argsort(t, kind="stable")
    # total[k]: the sum over the peaks before the k-th; a run from peak i through peak j sums total[j+1] - total[i].
    total = np.r_[0.0, np.cumsum(np.where(hit[order], 1.0, 0.0) - _RUN_COST * chance[order])]
    lowest_before = np.minimum.accumulate(total[:-1])
    end = int(np.argmax(total[1:] - lowest_before))
    start = int(np.argmin(total[: end + 1]))
    times = t[order]
    return float(times[min(start, end)]), float(times[end])
