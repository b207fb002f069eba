"""Match radio chunks against the fingerprint index: which catalog tracks play in each chunk, where, and at
what playback speed.

A chunk that contains a catalog track shares many landmark hashes with it, and — the part chance cannot
fake — the shared landmarks line up: reference time = speed × chunk time + offset. The chunk's landmarks
are hashed under a few hypotheses (see ``audio.fingerprint``): playback speeds (resampled: pitch and tempo
together) and tempo changes with the pitch kept (a station's time compressor), looked up, and histogrammed
by (chunk, track, hypothesis, coarse offset); the best cell is then refined by a line fit, which gives the
speed estimate and the exact offset, and scored by the distinct reference landmarks on that line. The
``speed`` reported is that line's slope, seconds of track per second of air, for either kind of change.

Crowded buckets are skipped, and a chunk draws a bounded number of votes. The 22-bit hash space has a fixed
number of buckets, so as the catalog grows every bucket fills, and a few fill far beyond the rest (common
anchors, short ``dt``): in the real tracks the busiest 0.1 % of buckets hold ~20 % of the entries and drew ~75 %
of the votes, votes that land on every track alike and so say nothing about which one plays. A query hash is
therefore looked up only when its bucket holds at most ``max(CROWDED_FLOOR, CROWDED_FACTOR × mean bucket size)``
entries, the mean taken over the whole hash space (``n_hashes / 2^HASH_BITS``), i.e. only buckets more than
``CROWDED_FACTOR`` times as full as an average one are skipped. The rule depends only on the index and the hash,
so matching stays deterministic; the floor keeps small catalogs (the demo's 14 tracks, the tests) as they were,
or nearly: hardly any of their buckets reaches it. Those votes are not all noise (a true line loses the
landmarks it had in skipped buckets, about half its score at 3,300 tracks), which is why the factor is not
smaller. The cap follows the mean bucket, so past a few thousand tracks the votes grow with the catalog again;
``CHUNK_VOTE_BUDGET`` then bounds them, taking a chunk's hashes from the least crowded bucket up.

Both limits starve a chunk recorded off air: it shares only a few per cent of its hashes with its song, and those
sit mostly in crowded buckets (narrow band, low-frequency anchors), so the song's line keeps a handful of its
votes. When the budget bound and no window reached ``SHORTLIST_BELOW``, the ``SHORTLIST_TRACKS`` tracks with the
strongest windows are voted again with every hash they hold, crowded or not (the index's track-major copy,
``FingerprintIndex.track_lookup``), and their lines found from those votes. A chunk with a clear line, and any
chunk of a catalog small enough for the budget, never takes the second pass.

A song's neighbours are the last place the limits may hide it: a song detected (above ``MIN_SCORE``) in one chunk
most likely plays on into the next chunk of its station or began in the previous one (``audio.adjacent``). Where
such a neighbour's votes were cut short by either limit and hold no line of that song, the song alone is voted
again there with every hash it holds; a line found so is a weak detection, kept only when it agrees with another
on the song's start (``_confirmed``). The batches overlap by one for this: the chunks of the last two batches
are paired, so chunks in the order of their station's air (as a station-day is) find their neighbours.

When two catalog tracks claim the same stretch of a chunk (a remaster and its original), the stronger is
the detection and the other its runner-up, kept with its score so a version clash is visible downstream.

Last, over all the chunks of the call, each anchored broadcast is followed by peak overlap into the chunks of
its song where noise left no line of it (``audio.broadcasts``, ``audio.verify``).
"""

from __future__ import annotations

import functools
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl

from audio import broadcasts
from audio.adjacent import CHUNKS_SCHEMA, neighbour_pairs
from audio.broadcasts import HeardChunk
from audio.decode import AudioDecodeError, decode_audio
from audio.fingerprint import FRAME_SECONDS, HOP, Landmarks, hypothesis_hashes, landmarks
from audio.index import FingerprintIndex
from audio.origins import song_origin
from audio.verify import ReferenceCache, query_peaks

DETECTION_SCHEMA = pl.Schema(
    {
        "chunk_id": pl.String(),
        "station_id": pl.String(),
        "chunk_start_utc": pl.Datetime("us"),
        "track_id": pl.String(),
        "track_offset_s": pl.Float64(),
        "query_start_s": pl.Float64(),
        "query_end_s": pl.Float64(),
        "score": pl.Int64(),
        "confidence": pl.Float64(),
        "speed": pl.Float64(),
        "runner_up_track_id": pl.String(),
        "runner_up_confidence": pl.Float64(),
    }
)
# What merging needs; the speed and runner-up columns default when absent (detections read back from a
# warehouse table that predates them).
REQUIRED_DETECTION_COLUMNS = (
    "chunk_id",
    "station_id",
    "chunk_start_utc",
    "track_id",
    "track_offset_s",
    "query_start_s",
    "query_end_s",
    "score",
    "confidence",
)
CANDIDATE_SCHEMA = pl.Schema(
    {
        "chunk_id": pl.String(),
        "track_id": pl.String(),
        "rank": pl.Int64(),
        "score": pl.Int64(),
        "confidence": pl.Float64(),
        "speed": pl.Float64(),
    }
)

# Speed hypotheses 0.96 .. 1.04 in 2 % steps. An anchor code is 2 % wide, so the true speed is at most 1 %
# (half a code) from a hypothesis; the landmarks that round the other way are picked up by the neighbouring
# hypothesis, whose votes are pooled in the refinement, and the line fit measures the speed itself. On the
# airplay benchmark this finds every speed-changed play that 1 % steps found, with half the votes to count.
SPEEDS = np.round(np.arange(0.96, 1.04 + 1e-9, 0.02), 4)
# Tempo hypotheses (pitch kept) 0.96 .. 1.06, 1.00 being the speed hypothesis 1.00: time compressors run
# from -4 % to +6 %. Only ``dt`` differs between them (the anchor and ratio codes are the unchanged ones), so
# most of a landmark's tempo hashes repeat the hash one step nearer 1 (every pair under 8 frames keeps its
# code up to ±6 %). Such a repeat finds the same reference entries and is left out: each tempo hypothesis
# looks up only the hashes that are new to it, which keeps the votes to ~1.4× the speed hypotheses' alone
# instead of 3× (the unchanged anchors hit the index's busiest codes). The line of a tempo r then pools its
# votes along the way from 1 to r, and one step beyond (below); the line fit measures the tempo itself.
TEMPOS = np.round(np.arange(0.96, 1.06 + 1e-9, 0.02), 4)
# Every hypothesis as (frequency factor, time factor): the speeds (s, s), then the tempos other than 1, (1, r).
_TEMPO_ONLY = TEMPOS[np.abs(TEMPOS - 1.0) > 1e-9]
FREQ_FACTORS = np.r_[SPEEDS, np.ones(_TEMPO_ONLY.size)]
TIME_FACTORS = np.r_[SPEEDS, _TEMPO_ONLY]
N_HYPOTHESES = FREQ_FACTORS.size
_STEP = 0.02
_SPEED_LINE = np.abs(FREQ_FACTORS - TIME_FACTORS) < 1e-9  # (s, s), (1, 1) included
_TEMPO_LINE = np.abs(FREQ_FACTORS - 1.0) < 1e-9  # (1, r), (1, 1) included


def _toward_one() -> np.ndarray:
    """For each tempo-only hypothesis, the hypothesis a step nearer 1 on the tempo line; -1 for the others."""
    nearer = np.full(N_HYPOTHESES, -1)
    for k in np.flatnonzero(_TEMPO_LINE & ~_SPEED_LINE):
        target = TIME_FACTORS[k] - np.sign(TIME_FACTORS[k] - 1.0) * _STEP
        nearer[k] = np.flatnonzero(_TEMPO_LINE & (np.abs(TIME_FACTORS - target) < 1e-9))[0]
    return nearer


def _neighbours() -> np.ndarray:
    """(k, k') pairs: the line found at hypothesis k pools the votes of hypothesis k'.

    Along the speed line, each hypothesis and the ones a step away. Along the tempo line (where (1, 1) also
    lies), a tempo r pools every hypothesis from 1 to r (their hashes are the ones r would have repeated)
    and one step beyond r; (1, 1) pools the tempos a step either side.
    """
    speed_pairs = _SPEED_LINE[:, None] & _SPEED_LINE[None, :]
    speed_pairs &= np.abs(TIME_FACTORS[:, None] - TIME_FACTORS[None, :]) <= _STEP + 1e-9
    line, other = TIME_FACTORS[:, None] - 1.0, TIME_FACTORS[None, :] - 1.0
    on_the_way = (line * other >= -1e-12) & (np.abs(other) <= np.abs(line) + _STEP + 1e-9)
    at_one = (np.abs(line) < 1e-9) & (np.abs(other) <= _STEP + 1e-9)
    tempo_pairs = _TEMPO_LINE[:, None] & _TEMPO_LINE[None, :] & (on_the_way | at_one)
    return np.argwhere(speed_pairs | tempo_pairs)


TOWARD_ONE = _toward_one()
NEIGHBOURS = _neighbours()
# POOLS[k, k']: the line found at hypothesis k pools the votes of hypothesis k' (NEIGHBOURS as a table).
POOLS = np.zeros((N_HYPOTHESES, N_HYPOTHESES), dtype=bool)
POOLS[NEIGHBOURS[:, 0], NEIGHBOURS[:, 1]] = True
# Each track gets up to two lines per chunk, its best among the speed hypotheses (with (1, 1)) and its best
# among the tempo-only ones: a tempo line's short pairs (most of its evidence) sit in the (1, 1) votes, smeared
# along a slope of 1, and would often outvote its own hypothesis there. Both are fitted; the better one stays.
FAMILY = (_TEMPO_LINE & ~_SPEED_LINE).astype(np.int64)
# The fitted slope stays within its family's range plus half a step: speeds 0.95 .. 1.05, tempos 0.95 .. 1.07
# ((1, 1) belongs to both, so to the wider).
_IS_TEMPO = np.abs(FREQ_FACTORS - 1.0) < 1e-9
SLOPE_MIN = np.full(N_HYPOTHESES, min(SPEEDS[0], TEMPOS[0]) - _STEP / 2)
SLOPE_MAX = np.where(_IS_TEMPO, TEMPOS[-1], SPEEDS[-1]) + _STEP / 2
# Coarse offset cells of 4 frames, summed over 3 neighbours: a 1 % speed error drifts 13 frames over a
# 30 s chunk, so the 12-frame window holds most of a line's votes, and the coarse fit band (below) all of it.
OFFSET_CELL_FRAMES = 4
# After the line fit, a landmark is on the line when within 1.5 frames (35 ms) of it: peak times jitter by
# about a frame between the reference and a re-recorded, re-encoded broadcast.
INLIER_FRAMES = 1.5
# Absolute floor of distinct reference landmarks matched on one line. Unrelated synthetic music against
# the test catalog peaks well below it; a full 30 s chunk of a catalog track gets hundreds even at 10 dB SNR.
MIN_SCORE = 50
# The line must also beat, by this factor, the votes expected in its band if all the (chunk, track) hash
# matches were spread evenly over every feasible offset — this rejects tracks that collect many votes
# everywhere (drones, silence-like material whose hashes are very common).
CHANCE_RATIO = 5.0
# A weaker line is still a detection when a detection above the floor, in a chunk of the same station
# within CONFIRM_WINDOW_S, implies the same song start (origin) within CONFIRM_ORIGIN_S. That is the
# edge of a play: the few seconds of a song before or after a chunk boundary, or a quiet passage under a
# DJ. Chance would have to put a line on one given track at one given offset out of thousands, so a low
# floor is safe there, and without it a 40 s play cut 27 + 13 s by the chunk grid is lost to ``min_play_s``.
CONFIRMED_MIN_SCORE = 15
CONFIRM_ORIGIN_S = 1.0
CONFIRM_WINDOW_S = 65.0
# A second track counts as the same audio (a version) when its matched span covers at least half of the
# winner's or its own; it is kept as a runner-up when it scores at least this share of the winner.
OVERLAP_SHARE = 0.5
RUNNER_UP_RATIO = 0.5


@dataclass(frozen=True)
class ChunkRef:
    """One recorded radio chunk; ``start_utc`` is a naive datetime in UTC."""

    chunk_id: str
    station_id: str
    start_utc: datetime
    path: Path


@dataclass(frozen=True)
class ChunkFailure:
    """A chunk that could not be decoded, and why."""

    chunk_id: str
    path: str
    reason: str


@dataclass
class MatchResult:
    """Detections (one row per chunk × track found, ``DETECTION_SCHEMA``), the chunks that failed, and the
    candidates (``CANDIDATE_SCHEMA``: per chunk the detected tracks and their close runners-up, ranked)."""

    detections: pl.DataFrame
    failures: list[ChunkFailure]
    candidates: pl.DataFrame


def _batches(items: Sequence[ChunkRef], size: int) -> Iterator[Sequence[ChunkRef]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _reported(
    batches: Iterator[Sequence[ChunkRef]], total: int, progress: Callable[[int, int], None] | None
) -> Iterator[Sequence[ChunkRef]]:
    """The batches, calling ``progress(chunks done, total)`` once the caller has finished each one."""
    done = 0
    for batch in batches:
        yield batch
        done += len(batch)
        if progress is not None:
            progress(done, total)


def _query_rows(marks: Landmarks) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The chunk's landmarks hashed under every hypothesis: (hash, k, tq, dtq, time factor × tq) per row, rows
    ordered by k then landmark, a tempo hypothesis's repeats left out; ``tq``/``dtq`` in chunk frames."""
    n = marks.size
    by_hypothesis = hypothesis_hashes(marks, FREQ_FACTORS, TIME_FACTORS)
    # A tempo hypothesis keeps only the hashes the hypothesis a step nearer 1 does not already have.
    keep = np.ones(by_hypothesis.shape, dtype=bool)
    tempo_only = np.flatnonzero(TOWARD_ONE >= 0)
    keep[tempo_only] = by_hypothesis[tempo_only] != by_hypothesis[TOWARD_ONE[tempo_only]]
    flat = np.flatnonzero(keep.ravel())
    k = (flat // max(n, 1)).astype(np.uint8)
    landmark = flat % max(n, 1)
    tq = marks.t[landmark]
    return by_hypothesis.ravel()[flat], k, tq, marks.dt[landmark], TIME_FACTORS[k] * tq


# A query hash is skipped when its bucket holds more than max(CROWDED_FLOOR, CROWDED_FACTOR × the mean
# bucket size) entries (see the module docstring). Airplay scale benchmark (bench/airplay/README.md, "Scale"):
# 50 tracks, mean 0.16, the floor applies and 3 % of the votes go (recall and false plays unchanged); 3,300
# tracks, mean 16, cap 128: the votes per chunk fall 6.4× (3.18 M to 0.50 M), the true line's score about
# halves and every play is still found. A factor of 16 (cap 256 there) kept twice the votes (0.98 M).
CROWDED_FACTOR = 8.0
CROWDED_FLOOR = 128


# And however big the catalog, one chunk draws at most CHUNK_VOTE_BUDGET votes, from its least crowded buckets
# first (see ``FingerprintIndex.lookup``): the rarest hashes say the most about which track plays, and the
# cost of a chunk stops growing with the catalog. Scale benchmark, 1,080 chunks: 50 tracks draw ~98,000 votes
# per chunk (the budget never binds: same detections); at 10,000 tracks the cap above still lets 1.5 M through
# (125.5 ms per chunk, 3.7× the 50-track cost); with 300,000, 47.1 ms (1.33×), 211 of 215 plays found instead
# of 212 and no false play (400,000: all 212, 1.55–1.62×; 100,000: 208).
CHUNK_VOTE_BUDGET: int | None = 300_000
# The second pass (module docstring): when the budget left buckets out and no window holds SHORTLIST_BELOW
# votes, the SHORTLIST_TRACKS tracks whose best window (counted down to SHORTLIST_FLOOR votes) is strongest are
# voted again with all their hashes. Airplay-19 off-air chunks against 10,000 tracks (scale benchmark, same
# budget): 24/71 plays without it; 10 tracks with windows of at least 7 votes: 47; of at least 3: 51; 20 tracks:
# 57 (30 and 40: 57 too); no false play in any. A clean chunk's line passes the gate on its budgeted votes, so the
# original profiles' cost hardly moves (see bench/README.md, "Catalog scale").
SHORTLIST_TRACKS = 20
SHORTLIST_FLOOR = 3
SHORTLIST_BELOW = MIN_SCORE
# The neighbour step (module docstring): a track detected above MIN_SCORE is voted again, with all its hashes, in
# the chunks right before and after on its station that a limit cut short and that have no line of it.
REVOTE_NEIGHBOURS = True


def _bucket_cap(index: FingerprintIndex) -> float:
    """Most entries a bucket may hold and still be looked up."""
    return max(float(CROWDED_FLOOR), CROWDED_FACTOR * index.mean_bucket_size)


# Votes further than this from a pair's coarse line never reach the fit: its bands are 8 and then 3 frames
# wide, and a true line's slope is within 1 % of its hypothesis (13 frames over a chunk).
_PREFIT_BAND_FRAMES = 40.0
_DIGIT_BITS = 16


def _radix_sorted(keys: np.ndarray, bits: int) -> np.ndarray:
    """Non-negative int64 ``keys`` below ``2**bits``, sorted: least significant 16-bit digit first, each pass a
    stable argsort of ``uint16`` (numpy sorts those by radix), a digit that every key shares skipped.

    The same order as ``np.sort``; faster where numpy's sort of int64 compares one key at a time (1.9 against
    4.4 ms per chunk for ``_best_cells`` on the host of bench/README.md's "vote histogram by radix").
    """
    for shift in range(0, max(bits, 1), _DIGIT_BITS):
        digit = (keys >> shift).astype(np.uint16)
        if digit.size and digit.min() == digit.max():
            continue
        keys = keys[np.argsort(digit, kind="stable")]
    return keys


def _numpy_sorted(keys: np.ndarray, bits: int) -> np.ndarray:
    """``keys`` sorted in place by numpy (``bits`` unused: the radix's signature)."""
    keys.sort()
    return keys


@functools.cache
def _key_sort() -> Callable[[np.ndarray, int], np.ndarray]:
    """Whichever of ``np.sort`` and ``_radix_sorted`` sorts a chunk's worth of vote keys faster on this CPU, timed
    once per process (26 ms on this host). Both give the same order; which is faster depends on the CPU: numpy
    sorts int64 with SIMD (x86-simd-sort) where the CPU allows, and then beats the counting passes
    (bench/README.md, "The histogram's sort, again": 0.66 against 1.57 ms for a 33-track chunk's keys, 2.1 against
    7.0 at 10,000 tracks on an AVX-512 host); elsewhere it compares one key at a time and the radix wins."""
    keys = np.random.default_rng(0).integers(0, 2**32, 100_000, dtype=np.int64)

    def fastest(sort: Callable[[np.ndarray, int], np.ndarray]) -> float:
        times = []
        for _ in range(5):
            trial = keys.copy()
            started = time.perf_counter()
            sort(trial, 32)
            times.append(time.perf_counter() - started)
        return min(times)

    return _numpy_sorted if fastest(_numpy_sorted) < fastest(_radix_sorted) else _radix_sorted


def _best_cells(group: np.ndarray, cell: np.ndarray, floor: int = CONFIRMED_MIN_SCORE // 2) -> _Lines:
    """For each track (``group`` = track × hypotheses + k) and hypothesis family, the hypothesis and offset
    cell whose 3-cell window holds the most votes.

    Returns (line slot = track × 2 + family, k, cell, votes in the window) for the slots whose best window
    reaches ``floor`` votes (half the score floor unless asked; the second pass's shortlist asks fewer). The
    histogram is a sort of one packed integer key (group, cell): tens of thousands of votes per chunk make this
    the matcher's hot loop, and sorting int64 keys (``_key_sort``) beats a multi-column group-by many times over.
    """
    # One integer key per vote, (group, cell) packed tight: the cell counted from the chunk's lowest, with room
    # for one more so that a cell's neighbour (key + 1) never reaches into the next group's cells.
    cell_low = int(cell.min()) if cell.size else 0
    cell_bits = (int(cell.max()) - cell_low + 1).bit_length() if cell.size else 1
    keys = group << cell_bits
    keys |= cell - cell_low
    key_bits = cell_bits + (int(group.max()).bit_length() if group.size else 0)
    # A (track, hypothesis) group with fewer votes in all than the prefilter floor below holds no window that
    # reaches it: its votes leave before the sort, which changes no result and, in a big catalog (most groups
    # hold a few chance votes), spares most of the sort.
    enough = np.bincount(group)[group] >= floor
    if not enough.all():
        keys = keys[enough]
    keys = _key_sort()(keys, key_bits)
    distinct = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[distinct, keys.size])
    keys = keys[distinct]
    # The keys are sorted and distinct, so a neighbouring cell, when it has votes, is the next (previous) key.
    window = counts.copy()
    follows = keys[1:] == keys[:-1] + 1
    window[:-1] += np.where(follows, counts[1:], 0)
    window[1:] += np.where(follows, counts[:-1], 0)
    # Votes split between neighbouring hypotheses are pooled later, so prefilter at half the floor.
    strong = window >= floor
    keys, window = keys[strong], window[strong]
    group = keys >> cell_bits
    slot = (group // N_HYPOTHESES) * 2 + FAMILY[group % N_HYPOTHESES]
    order = np.lexsort((-window, slot))
    slot_sorted = slot[order]
    first = order[np.r_[True, slot_sorted[1:] != slot_sorted[:-1]]] if order.size else order
    cell = (keys[first] & ((1 << cell_bits) - 1)) + cell_low
    return slot[first], group[first] % N_HYPOTHESES, cell, window[first]


def _shortlist(line_slot: np.ndarray, window: np.ndarray) -> np.ndarray:
    """The ``SHORTLIST_TRACKS`` tracks whose best window holds the most votes (ties: lower track code)."""
    track = line_slot // 2
    order = np.lexsort((track, -window))
    ranked = track[order]
    return ranked[np.sort(np.unique(ranked, return_index=True)[1])][:SHORTLIST_TRACKS]


@dataclass(frozen=True)
class _Query:
    """A chunk's landmarks hashed under every hypothesis (``_query_rows``), one entry per row."""

    hashes: np.ndarray
    k: np.ndarray
    tq: np.ndarray
    dtq: np.ndarray
    shift: np.ndarray

    @classmethod
    def of(cls, marks: Landmarks) -> _Query:
        return cls(*_query_rows(marks))


_Lines = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""Lines as ``_best_cells`` returns them: (slot, k, cell, votes in the window), one entry per line."""


def _lines_where(lines: _Lines, keep: np.ndarray) -> _Lines:
    return lines[0][keep], lines[1][keep], lines[2][keep], lines[3][keep]


@dataclass(frozen=True)
class _Votes:
    """A chunk's votes (query ``row``, ``track``, ``t_ref``, ``group`` = track × hypotheses + k, offset ``cell``),
    the ``lines`` found in them, and whether they are ``complete``: every entry of every query hash voted,
    neither the crowded-bucket cap nor the budget having left any out."""

    row: np.ndarray
    track: np.ndarray
    t_ref: np.ndarray
    group: np.ndarray
    cell: np.ndarray
    lines: _Lines
    complete: bool

    @classmethod
    def of(
        cls,
        postings: tuple[np.ndarray, np.ndarray, np.ndarray],
        query: _Query,
        complete: bool,
        lines: _Lines | None = None,
    ) -> _Votes:
        """The votes of ``postings`` (query row, track, t_ref), with ``lines`` or, when not given, their own."""
        row, track, t_ref = postings
        group, cell = _groups_and_cells(row, track, t_ref, query.k, query.shift)
        return cls(row, track, t_ref, group, cell, _best_cells(group, cell) if lines is None else lines, complete)


def _votes(query: _Query, index: FingerprintIndex) -> _Votes:
    """The chunk's votes and lines.

    Crowded buckets are skipped and at most ``CHUNK_VOTE_BUDGET`` votes drawn; when the budget left buckets out
    and no window reached ``SHORTLIST_BELOW`` votes, the ``SHORTLIST_TRACKS`` tracks with the strongest windows
    are voted again with every hash they hold, and their lines found again from those votes."""
    row, track, t_ref, over_budget, left_out = index.budgeted_lookup(
        query.hashes, max_bucket=_bucket_cap(index), max_entries=CHUNK_VOTE_BUDGET
    )
    if not (over_budget and SHORTLIST_TRACKS):
        return _Votes.of((row, track, t_ref), query, not left_out)
    budgeted = _Votes.of((row, track, t_ref), query, False)
    group, cell, lines = budgeted.group, budgeted.cell, budgeted.lines
    if lines[3].size and lines[3].max() >= SHORTLIST_BELOW:
        return budgeted
    # Only now the weaker windows too: ranking the shortlist by them costs a second histogram (its lines at the
    # default floor are exactly ``lines``), which most chunks, passing the gate, never need.
    weaker = _best_cells(group, cell, SHORTLIST_FLOOR)
    shortlist = _shortlist(weaker[0], weaker[3])
    full = _track_votes(query, index, shortlist)
    others = ~np.isin(track, shortlist)
    kept = _lines_where(lines, ~np.isin(lines[0] // 2, shortlist))
    return _Votes(
        np.concatenate([row[others], full.row]),
        np.concatenate([track[others], full.track]),
        np.concatenate([t_ref[others], full.t_ref]),
        np.concatenate([group[others], full.group]),
        np.concatenate([cell[others], full.cell]),
        (
            np.concatenate([kept[0], full.lines[0]]),
            np.concatenate([kept[1], full.lines[1]]),
            np.concatenate([kept[2], full.lines[2]]),
            np.concatenate([kept[3], full.lines[3]]),
        ),
        False,
    )


def _track_votes(query: _Query, index: FingerprintIndex, tracks: np.ndarray) -> _Votes:
    """The votes of ``tracks`` only, every hash they hold, crowded or not, and their lines."""
    return _Votes.of(index.track_lookup(query.hashes, tracks), query, False)


def _groups_and_cells(
    row: np.ndarray, track: np.ndarray, t_ref: np.ndarray, k: np.ndarray, shift: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each vote's (track, hypothesis) group, track × hypotheses + k, and its offset cell."""
    group = track.astype(np.int64) * N_HYPOTHESES
    group += k[row]
    cell = t_ref - shift[row]
    cell /= OFFSET_CELL_FRAMES
    return group, np.floor(cell, out=cell).astype(np.int64)


def _coarse_lines(q: int, marks: Landmarks, index: FingerprintIndex) -> tuple[dict[str, np.ndarray], bool]:
    """One chunk's promising (track, hypothesis, offset cell) lines and the votes near them.

    Every (query landmark, reference landmark) pair sharing a hash under a hypothesis is a vote for an
    offset cell. Chunk by chunk, so the tens of thousands of votes stay in the CPU cache; what depends
    only on the query row (its hypothesis, speed × tq) is computed per row and gathered once.

    Returns ``_lines_and_votes`` of them, and whether no limit left a vote out (``_Votes.complete``).
    """
    query = _Query.of(marks)
    votes = _votes(query, index)
    return _lines_and_votes(q, query, votes, index.n_tracks), votes.complete


def _lines_and_votes(q: int, query: _Query, votes: _Votes, n_tracks: int) -> dict[str, np.ndarray]:
    """The lines (``line_*``: slot = track × 2 + family, k, cell and ``total``, the votes at the best
    hypothesis or a neighbour, for the chance test) and the votes within ``_PREFIT_BAND_FRAMES`` of them,
    which are all the fit needs (``track``: the line's slot, ``hash``, ``tq``, ``dtq``, ``t_ref``), tagged
    with batch row ``q``."""
    line_slot, line_k, line_cell, _ = votes.lines
    # Only the votes of promising tracks, at their best hypothesis or one it pools, go on: a table over
    # (track, hypothesis) groups holds, per family, 1 + the line's position for those, 0 elsewhere (a track has
    # one line per family). The (1, 1) votes can serve a track's two lines, so a vote may go on twice.
    line, k_near = np.nonzero(POOLS[line_k])
    line_of_group = np.zeros((n_tracks * N_HYPOTHESES, 2), dtype=np.int32)
    line_of_group[(line_slot[line] // 2) * N_HYPOTHESES + k_near, FAMILY[line_k[line]]] = line + 1
    of_both = np.take(line_of_group, votes.group, axis=0)  # a tenth of the time of line_of_group[group]
    kept = [np.flatnonzero(of_both[:, family]) for family in (0, 1)]
    keep = np.concatenate(kept)
    of = np.concatenate([of_both[rows, family] for family, rows in enumerate(kept)]) - 1
    total = np.bincount(of, minlength=line_slot.size)
    rows = votes.row[keep]
    t_ref = votes.t_ref[keep]
    residual = t_ref - TIME_FACTORS[line_k][of] * query.tq[rows] - (line_cell[of] + 0.5) * OFFSET_CELL_FRAMES
    near_line = np.abs(residual) <= _PREFIT_BAND_FRAMES
    t_ref, rows, of = t_ref[near_line], rows[near_line], of[near_line]
    return {
        "line_q": np.full(line_slot.size, q, dtype=np.uint32),
        "line_track": line_slot.astype(np.uint32),
        "line_k": line_k,
        "line_cell": line_cell,
        "line_total": total.astype(np.uint32),
        "q": np.full(rows.size, q, dtype=np.uint32),
        "track": line_slot[of].astype(np.uint32),
        "hash": query.hashes[rows],
        "tq": query.tq[rows],
        "dtq": query.dtq[rows],
        "t_ref": t_ref,
    }


def _joined(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Chunks' ``_lines_and_votes``, one array per name."""
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


@dataclass
class _FingerprintedBatch:
    """A batch decoded, fingerprinted and voted: its coarse lines and their votes, tagged with batch row ``q``
    (None when no chunk has a vote), frames per row, the chunks that failed, and the landmarks of the chunks
    whose votes a limit cut short (by row), kept for the neighbour step."""

    lines: dict[str, np.ndarray] | None
    n_frames: np.ndarray
    failures: list[ChunkFailure]
    cut_short: dict[int, Landmarks]


def _fingerprint_batch(
    batch: Sequence[ChunkRef], index: FingerprintIndex, heard: list[HeardChunk]
) -> _FingerprintedBatch:
    """Decode, fingerprint and vote a batch. Each decoded chunk's peaks go to ``heard``."""
    parts: list[dict[str, np.ndarray]] = []
    done = _FingerprintedBatch(None, np.zeros(len(batch), dtype=np.int64), [], {})
    for q, chunk in enumerate(batch):
        try:
            samples = decode_audio(chunk.path)
        except AudioDecodeError as exc:
            done.failures.append(ChunkFailure(chunk.chunk_id, str(chunk.path), exc.reason))
            continue
        done.n_frames[q] = samples.size // HOP + 1
        marks = landmarks(samples)
        heard.append(
            HeardChunk(
                chunk.chunk_id, chunk.station_id, chunk.start_utc, done.n_frames[q] * FRAME_SECONDS, query_peaks(marks)
            )
        )
        part, complete = _coarse_lines(q, marks, index)
        if not complete:
            done.cut_short[q] = marks
        if part["q"].size:
            parts.append(part)
    if parts:
        done.lines = _joined(parts)
    return done


def _fit(frame: pl.DataFrame, band: float) -> pl.DataFrame:
    """Per (chunk, track): least-squares line t_ref = speed × tq + offset over rows within ``band`` of the
    previous line (columns ``speed`` and ``offset``), as new ``speed``/``offset``; the slope is clipped to
    ``slope_min`` .. ``slope_max`` (its hypothesis family's range)."""
    near = frame.filter((pl.col("t_ref") - pl.col("speed") * pl.col("tq") - pl.col("offset")).abs() <= band)
    fitted = near.group_by("q", "track").agg(
        var=pl.col("tq").var(),
        cov=pl.cov("tq", "t_ref"),
        mean_tq=pl.col("tq").mean(),
        mean_ref=pl.col("t_ref").mean(),
        prior=pl.col("speed").first(),
        slope_min=pl.col("slope_min").first(),
        slope_max=pl.col("slope_max").first(),
    )
    slope = pl.when(pl.col("var") > 100.0).then(pl.col("cov") / pl.col("var")).otherwise(pl.col("prior"))
    fitted = fitted.with_columns(speed=slope.clip(pl.col("slope_min"), pl.col("slope_max"))).with_columns(
        offset=pl.col("mean_ref") - pl.col("speed") * pl.col("mean_tq")
    )
    return frame.drop("speed", "offset").join(fitted.select("q", "track", "speed", "offset"), on=["q", "track"])


def _detect(lines: dict[str, np.ndarray], n_frames: np.ndarray, track_frames: np.ndarray) -> pl.DataFrame:
    """Fit and score each (chunk, track) around its best cell; keep the ones that pass both thresholds.

    The fit runs per line (``track`` is the line slot, track × 2 + family, until the end); of a track's two
    lines in a chunk, the better scored is kept."""
    key_schema = {"q": pl.UInt32, "track": pl.UInt32}
    near = pl.DataFrame(
        {name: lines[name] for name in ("q", "track", "hash", "tq", "dtq", "t_ref")},
        schema={**key_schema, "hash": pl.UInt32, "tq": pl.Float32, "dtq": pl.Float32, "t_ref": pl.Int32},
    )
    best = pl.DataFrame(
        {
            "q": lines["line_q"],
            "track": lines["line_track"],
            "speed": TIME_FACTORS[lines["line_k"]],
            "offset": (lines["line_cell"] + 0.5) * OFFSET_CELL_FRAMES,
            "slope_min": SLOPE_MIN[lines["line_k"]],
            "slope_max": SLOPE_MAX[lines["line_k"]],
        },
        schema={
            **key_schema,
            "speed": pl.Float64,
            "offset": pl.Float64,
            "slope_min": pl.Float64,
            "slope_max": pl.Float64,
        },
    )
    totals = pl.DataFrame(
        {"q": lines["line_q"], "track": lines["line_track"], "total": lines["line_total"]},
        schema={**key_schema, "total": pl.UInt32},
    )
    near = near.join(best, on=["q", "track"])
    # Coarse band first (drift of a 0.5 % speed error plus the cell width), then tighter around the fit.
    fitted = _fit(_fit(near, 1.5 * OFFSET_CELL_FRAMES + 2.0), 3.0)
    inliers = fitted.filter(
        (pl.col("t_ref") - pl.col("speed") * pl.col("tq") - pl.col("offset")).abs() <= INLIER_FRAMES
    )
    scored = (
        inliers.group_by("q", "track")
        .agg(
            # One reference landmark matched under two hypotheses is still one piece of evidence.
            score=pl.struct("t_ref", "hash").n_unique().cast(pl.Int64),
            speed=pl.col("speed").first(),
            offset_frames=pl.col("offset").first(),
            start_frame=pl.col("tq").min(),
            end_frame=(pl.col("tq") + pl.col("dtq")).max(),
        )
        .join(totals, on=["q", "track"])
    )
    scored = scored.with_columns(track=pl.col("track") // 2)
    feasible_offsets = n_frames[scored["q"].to_numpy()] + track_frames[scored["track"].to_numpy()]
    scored = scored.with_columns(feasible_offsets=pl.Series(feasible_offsets, dtype=pl.Float64))
    chance = (2 * INLIER_FRAMES + 1) * pl.col("total") / pl.col("feasible_offsets")
    passed = scored.filter((pl.col("score") >= CONFIRMED_MIN_SCORE) & (pl.col("score") >= CHANCE_RATIO * chance))
    return passed.sort("q", "track", "score", "speed", descending=[False, False, True, False]).unique(
        ["q", "track"], keep="first", maintain_order=True
    )


_Score = TypeVar("_Score", pl.Expr, pl.Series, np.ndarray)


def _confidence(score: _Score) -> _Score:
    # A monotone squashing of the votes: 0.5 at the acceptance floor, towards 1 as evidence grows.
    return score / (score + MIN_SCORE)


def _resolve_versions(detected: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Split (chunk, track) matches into winners and runners-up where tracks claim the same audio.

    Returns (winners with ``runner_up`` track code and ``runner_up_score``, candidates with ``rank``).
    """
    rows = detected.sort("q", "score", "track", descending=[False, True, False]).to_dicts()
    winners: list[dict] = []
    candidates: list[dict] = []
    by_chunk: dict[int, list[dict]] = {}
    for row in rows:
        by_chunk.setdefault(row["q"], []).append(row)
    for group in by_chunk.values():
        kept: list[dict] = []
        ranked: list[dict] = []
        for row in group:  # strongest first
            span = max(row["end_frame"] - row["start_frame"], 1.0)
            rival = None
            for win in kept:
                overlap = min(row["end_frame"], win["end_frame"]) - max(row["start_frame"], win["start_frame"])
                win_span = max(win["end_frame"] - win["start_frame"], 1.0)
                if overlap >= OVERLAP_SHARE * min(span, win_span):
                    rival = win
                    break
            if rival is None:
                kept.append({**row, "runner_up": None, "runner_up_score": None})
                ranked.append(row)
            else:
                if rival["runner_up"] is None:
                    rival["runner_up"], rival["runner_up_score"] = row["track"], row["score"]
                if row["score"] >= RUNNER_UP_RATIO * rival["score"]:
                    ranked.append(row)
        winners.extend(kept)
        candidates.extend({**row, "rank": rank} for rank, row in enumerate(ranked, start=1))
    winner_schema = pl.Schema({**detected.schema, "runner_up": pl.UInt32(), "runner_up_score": pl.Int64()})
    return (
        pl.DataFrame(winners, schema=winner_schema),
        pl.DataFrame(candidates, schema=pl.Schema({**detected.schema, "rank": pl.Int64()})),
    )


def _to_detections(
    winners: pl.DataFrame, batch: Sequence[ChunkRef], n_frames: np.ndarray, track_ids: list[str]
) -> pl.DataFrame:
    """Turn batch-local (q, track) codes and frame positions into ``DETECTION_SCHEMA`` rows."""
    q = winners["q"].to_numpy()
    chunk_seconds = n_frames[q] * FRAME_SECONDS
    end_s = np.minimum(winners["end_frame"].to_numpy() * FRAME_SECONDS, chunk_seconds)
    score = winners["score"]
    runner_up_score = winners["runner_up_score"].cast(pl.Float64)
    return pl.DataFrame(
        {
            "chunk_id": [batch[i].chunk_id for i in q],
            "station_id": [batch[i].station_id for i in q],
            "chunk_start_utc": [batch[i].start_utc for i in q],
            "track_id": [track_ids[i] for i in winners["track"].to_numpy()],
            # Track position at the chunk's first sample.
            "track_offset_s": winners["offset_frames"] * FRAME_SECONDS,
            "query_start_s": winners["start_frame"].clip(lower_bound=0.0) * FRAME_SECONDS,
            "query_end_s": end_s,
            "score": score,
            "confidence": _confidence(score.cast(pl.Float64)),
            "speed": winners["speed"],
            "runner_up_track_id": [None if r is None else track_ids[r] for r in winners["runner_up"].to_list()],
            "runner_up_confidence": _confidence(runner_up_score),
        },
        schema=DETECTION_SCHEMA,
    )


def _unshadowed(weak: pl.DataFrame, strong: pl.DataFrame) -> pl.DataFrame:
    """The weak detections not under a detection of another track in the same stretch of their chunk: such a
    line is a version of that song (or its shadow), not a play of its own (``_resolve_versions`` would have
    made it the runner-up)."""
    if weak.is_empty():
        return weak
    span = (pl.col("query_end_s") - pl.col("query_start_s")).clip(lower_bound=FRAME_SECONDS)
    shadowed = (
        weak.with_row_index("_row")
        .join(strong.select("chunk_id", win_start="query_start_s", win_end="query_end_s"), on="chunk_id")
        .filter(
            pl.min_horizontal("query_end_s", "win_end") - pl.max_horizontal("query_start_s", "win_start")
            >= OVERLAP_SHARE * pl.min_horizontal(span, (pl.col("win_end") - pl.col("win_start")).clip(FRAME_SECONDS))
        )["_row"]
    )
    return weak.with_row_index("_row").filter(~pl.col("_row").is_in(shadowed.implode())).drop("_row")


def _confirmed(weak: pl.DataFrame, strong: pl.DataFrame) -> pl.DataFrame:
    """The weak detections (below ``MIN_SCORE``) that another detection of the same station and track, strong
    or weak, confirms: another chunk at most ``CONFIRM_WINDOW_S`` away whose implied song start agrees within
    ``CONFIRM_ORIGIN_S``. Two weak lines agreeing on one track and one start by chance is as unlikely as one
    strong line: that is how a quiet 40 s jingle cut 15 + 25 s by the chunk grid is still found."""
    if weak.is_empty():
        return weak

    anchors = pl.concat([strong, weak]).select(
        "station_id",
        "track_id",
        anchor_chunk="chunk_id",
        anchor_start="chunk_start_utc",
        anchor_origin=song_origin(),
    )
    pairs = weak.with_columns(origin=song_origin()).with_row_index("_row").join(anchors, on=["station_id", "track_id"])
    window_us, origin_us = int(CONFIRM_WINDOW_S * 1_000_000), int(CONFIRM_ORIGIN_S * 1_000_000)
    rows = pairs.filter(
        (pl.col("chunk_id") != pl.col("anchor_chunk"))
        & ((pl.col("chunk_start_utc") - pl.col("anchor_start")).dt.total_microseconds().abs() <= window_us)
        & ((pl.col("origin") - pl.col("anchor_origin")).dt.total_microseconds().abs() <= origin_us)
    )["_row"].unique()
    return weak.with_row_index("_row").filter(pl.col("_row").is_in(rows.implode())).drop("_row")


def _to_candidates(ranked: pl.DataFrame, batch: Sequence[ChunkRef], track_ids: list[str]) -> pl.DataFrame:
    score = ranked["score"]
    return pl.DataFrame(
        {
            "chunk_id": [batch[i].chunk_id for i in ranked["q"].to_numpy()],
            "track_id": [track_ids[i] for i in ranked["track"].to_numpy()],
            "rank": ranked["rank"],
            "score": score,
            "confidence": _confidence(score.cast(pl.Float64)),
            "speed": ranked["speed"],
        },
        schema=CANDIDATE_SCHEMA,
    )


def _without_runner_up(detected: pl.DataFrame) -> pl.DataFrame:
    return detected.with_columns(runner_up=pl.lit(None, pl.UInt32), runner_up_score=pl.lit(None, pl.Int64))


_Again = tuple[ChunkRef, Landmarks, int, np.ndarray]
"""A chunk to vote again: its landmarks, its frames and the codes of the tracks to vote."""


class _Neighbours:
    """The neighbour step's memory: the chunks of the last two batches, the landmarks of those a limit cut short,
    their strong detections, and every (chunk, track) already detected or voted again."""

    def __init__(self, code_of: dict[str, int]) -> None:
        self._code_of = code_of
        self._chunks: deque[pl.DataFrame] = deque(maxlen=2)
        self._found: deque[pl.DataFrame] = deque(maxlen=2)
        self._cut_short: deque[dict[str, tuple[ChunkRef, Landmarks, int]]] = deque(maxlen=2)
        self._seen: set[tuple[str, str]] = set()

    def step(
        self, batch: Sequence[ChunkRef], done: _FingerprintedBatch, strong: pl.DataFrame, weak: pl.DataFrame
    ) -> list[_Again]:
        """Take in a batch and its detections; return the chunks of this batch and the last that a limit cut
        short, each with the tracks detected (above ``MIN_SCORE``) right before or after it on its station and
        not yet detected or voted again in it."""
        decoded = np.flatnonzero(done.n_frames).tolist()
        self._chunks.append(
            pl.DataFrame(
                {
                    "chunk_id": [batch[q].chunk_id for q in decoded],
                    "station_id": [batch[q].station_id for q in decoded],
                    "start_utc": [batch[q].start_utc for q in decoded],
                    "seconds": done.n_frames[decoded] * FRAME_SECONDS,
                },
                schema=CHUNKS_SCHEMA,
            )
        )
        self._found.append(strong.select("chunk_id", "track_id"))
        self._cut_short.append(
            {batch[q].chunk_id: (batch[q], marks, int(done.n_frames[q])) for q, marks in done.cut_short.items()}
        )
        for detected in (strong, weak):
            self._seen.update(zip(detected["chunk_id"], detected["track_id"], strict=True))
        cut_short = {chunk_id: kept for batch_kept in self._cut_short for chunk_id, kept in batch_kept.items()}
        wanted: dict[str, list[int]] = {}
        for chunk_id, track_id in neighbour_pairs(pl.concat(self._chunks), pl.concat(self._found)).iter_rows():
            if chunk_id in cut_short and (chunk_id, track_id) not in self._seen:
                self._seen.add((chunk_id, track_id))
                wanted.setdefault(chunk_id, []).append(self._code_of[track_id])
        return [(*cut_short[chunk_id], np.sort(np.array(codes))) for chunk_id, codes in wanted.items()]


def _revoted(again: list[_Again], index: FingerprintIndex, track_frames: np.ndarray) -> pl.DataFrame:
    """The lines of the asked tracks in the asked chunks, from every hash those tracks hold (``_track_votes``),
    as detections that still need confirming."""
    parts: list[dict[str, np.ndarray]] = []
    for q, (_, marks, _, tracks) in enumerate(again):
        query = _Query.of(marks)
        part = _lines_and_votes(q, query, _track_votes(query, index, tracks), index.n_tracks)
        if part["q"].size:
            parts.append(part)
    if not parts:
        return pl.DataFrame(schema=DETECTION_SCHEMA)
    lines = _joined(parts)
    refs = [chunk for chunk, *_ in again]
    n_frames = np.array([frames for _, _, frames, _ in again], dtype=np.int64)
    detected = _detect(lines, n_frames, track_frames)
    return _to_detections(_without_runner_up(detected), refs, n_frames, index.track_ids)


def match_chunks(
    chunks: Sequence[ChunkRef],
    index: FingerprintIndex,
    *,
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
) -> MatchResult:
    """Find the catalog tracks in each chunk. Undecodable chunks become ``failures``; the rest go on.

    Chunks are decoded and matched ``batch_size`` at a time, so memory follows the batch, not the run.
    ``progress(done, total)`` is called with the chunks done after each batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    track_ids = index.track_ids
    track_frames = index.track_frames()
    found: list[pl.DataFrame] = []
    ranked: list[pl.DataFrame] = []
    weak: list[pl.DataFrame] = []
    failures: list[ChunkFailure] = []
    heard: list[HeardChunk] = []
    neighbours = _Neighbours({track_id: code for code, track_id in enumerate(track_ids)})
    for batch in _reported(_batches(chunks, batch_size), len(chunks), progress):
        done = _fingerprint_batch(batch, index, heard)
        failures.extend(done.failures)
        batch_strong = batch_weak = pl.DataFrame(schema=DETECTION_SCHEMA)
        if done.lines is not None:
            detected = _detect(done.lines, done.n_frames, track_frames)
            passed = detected.filter(pl.col("score") >= MIN_SCORE)
            below = detected.filter(pl.col("score") < MIN_SCORE)
            if not below.is_empty():
                batch_weak = _to_detections(_without_runner_up(below), batch, done.n_frames, track_ids)
                weak.append(batch_weak)
            if not passed.is_empty():
                winners, candidates = _resolve_versions(passed)
                batch_strong = _to_detections(winners, batch, done.n_frames, track_ids)
                found.append(batch_strong)
                ranked.append(_to_candidates(candidates, batch, track_ids))
        again = neighbours.step(batch, done, batch_strong, batch_weak) if REVOTE_NEIGHBOURS else []
        if again:
            weak.append(_revoted(again, index, track_frames))
    if not found and not weak:
        return MatchResult(pl.DataFrame(schema=DETECTION_SCHEMA), failures, pl.DataFrame(schema=CANDIDATE_SCHEMA))
    strong = pl.concat(found).cast(DETECTION_SCHEMA) if found else pl.DataFrame(schema=DETECTION_SCHEMA)
    weak_lines = _unshadowed(pl.concat(weak).cast(DETECTION_SCHEMA), strong) if weak else strong.clear()
    confirmed = _confirmed(weak_lines, strong)
    # Chunks of a broadcast in which noise left no line of it, by peak overlap (``audio.broadcasts``).
    lined = pl.concat([strong, confirmed])
    followed = broadcasts.extended(lined, heard, ReferenceCache(index.index_dir), 2 * MIN_SCORE).with_columns(
        confidence=_confidence(pl.col("score").cast(pl.Float64))
    )
    confirmed = pl.concat([confirmed, followed])
    detections = pl.concat([strong, confirmed]).sort("chunk_start_utc", "chunk_id", "track_id")
    # A confirmed weak detection ranks after its chunk's own winners and runners-up.
    candidates = pl.concat(ranked).cast(CANDIDATE_SCHEMA) if ranked else pl.DataFrame(schema=CANDIDATE_SCHEMA)
    extra = confirmed.join(candidates.group_by("chunk_id").agg(last=pl.col("rank").max()), on="chunk_id", how="left")
    extra = extra.sort("chunk_id", "score", descending=[False, True]).select(
        "chunk_id",
        "track_id",
        rank=pl.col("last").fill_null(0) + pl.int_range(1, pl.len() + 1).over("chunk_id"),
        score="score",
        confidence="confidence",
        speed="speed",
    )
    candidates = pl.concat([candidates, extra.cast(CANDIDATE_SCHEMA)]).sort("chunk_id", "rank")
    return MatchResult(detections, failures, candidates)
