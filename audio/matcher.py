"""Match radio chunks against the fingerprint index: which catalog tracks play in each chunk, where, and at
what playback speed.

A chunk that contains a catalog track shares many landmark hashes with it, and — the part chance cannot
fake — the shared landmarks line up: reference time = speed × chunk time + offset. The chunk's landmarks
are hashed under a few speed hypotheses (see ``audio.fingerprint``), looked up, and histogrammed by
(chunk, track, hypothesis, coarse offset); the best cell is then refined by a line fit, which gives the
speed estimate and the exact offset, and scored by the distinct reference landmarks on that line.

When two catalog tracks claim the same stretch of a chunk (a remaster and its original), the stronger is
the detection and the other its runner-up, kept with its score so a version clash is visible downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TypeVar

import numpy as np
import polars as pl

from audio.decode import AudioDecodeError, decode_audio
from audio.fingerprint import FRAME_SECONDS, HOP, Landmarks, landmarks, speed_hashes
from audio.index import FingerprintIndex

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
    """The chunk's landmarks hashed under every speed hypothesis: (hash, k, tq, dtq, speed × tq) per row,
    row = k × landmarks + landmark; ``tq``/``dtq`` in chunk frames."""
    n = marks.size
    k = np.repeat(np.arange(SPEEDS.size, dtype=np.uint8), n)
    tq = np.tile(marks.t, SPEEDS.size)
    return speed_hashes(marks, SPEEDS).ravel(), k, tq, np.tile(marks.dt, SPEEDS.size), SPEEDS[k] * tq


# Votes further than this from a pair's coarse line never reach the fit: its bands are 8 and then 3 frames
# wide, and a true line's slope is within 1 % of its hypothesis (13 frames over a chunk).
_PREFIT_BAND_FRAMES = 40.0
_CELL_BITS = 24  # offset cells biased into 24 bits: ±8 M cells of 4 frames, far beyond any track


def _best_cells(group: np.ndarray, cell: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each track (``group`` = track × hypotheses + k), the hypothesis and offset cell whose 3-cell window
    holds the most votes.

    Returns (track, k, cell) for the tracks whose best window reaches half the score floor. The histogram
    is a sort of one packed integer key (group, cell), in place: tens of thousands of votes per chunk make
    this the matcher's hot loop, and a sort of int64 beats a multi-column group-by many times over.
    """
    keys = group << _CELL_BITS
    keys |= cell + (1 << (_CELL_BITS - 1))
    keys.sort()
    distinct = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if keys.size else np.zeros(0, dtype=np.int64)
    counts = np.diff(np.r_[distinct, keys.size])
    keys = keys[distinct]
    # The keys are sorted and distinct, so a neighbouring cell, when it has votes, is the next (previous) key.
    window = counts.copy()
    follows = keys[1:] == keys[:-1] + 1
    window[:-1] += np.where(follows, counts[1:], 0)
    window[1:] += np.where(follows, counts[:-1], 0)
    # Votes split between neighbouring hypotheses are pooled later, so prefilter at half the floor.
    strong = window >= CONFIRMED_MIN_SCORE // 2
    keys, window = keys[strong], window[strong]
    group = keys >> _CELL_BITS
    order = np.lexsort((-window, group // SPEEDS.size))
    track_sorted = (group // SPEEDS.size)[order]
    first = order[np.r_[True, track_sorted[1:] != track_sorted[:-1]]] if order.size else order
    cell = (keys[first] & ((1 << _CELL_BITS) - 1)) - (1 << (_CELL_BITS - 1))
    return group[first] // SPEEDS.size, group[first] % SPEEDS.size, cell


def _coarse_lines(q: int, marks: Landmarks, index: FingerprintIndex) -> dict[str, np.ndarray]:
    """One chunk's promising (track, hypothesis, offset cell) lines and the votes near them.

    Every (query landmark, reference landmark) pair sharing a hash under a hypothesis is a vote for an
    offset cell. Chunk by chunk, so the tens of thousands of votes stay in the CPU cache; what depends
    only on the query row (its hypothesis, speed × tq) is computed per row and gathered once.

    Returns the lines (``line_*``: track, k, cell and ``total``, the votes at the best hypothesis or a
    neighbour, for the chance test) and the votes within ``_PREFIT_BAND_FRAMES`` of them, which are all
    the fit needs (``track``, ``hash``, ``tq``, ``dtq``, ``t_ref``).
    """
    hashes, k, tq, dtq, shift = _query_rows(marks)
    row, track, t_ref = index.lookup(hashes)
    group = track.astype(np.int64) * SPEEDS.size
    group += k[row]
    cell = t_ref - shift[row]
    cell /= OFFSET_CELL_FRAMES
    line_track, line_k, line_cell = _best_cells(group, np.floor(cell, out=cell).astype(np.int64))
    # Only the votes of promising tracks, at their best hypothesis or a neighbour, go on: a table over
    # (track, hypothesis) groups holds 1 + the line's position for those, 0 elsewhere.
    line_of_group = np.zeros(index.n_tracks * SPEEDS.size, dtype=np.int32)
    for step in (-1, 0, 1):
        k_near = line_k + step
        ok = (k_near >= 0) & (k_near < SPEEDS.size)
        line_of_group[line_track[ok] * SPEEDS.size + k_near[ok]] = np.flatnonzero(ok) + 1
    of = line_of_group[group]
    keep = np.flatnonzero(of)
    of = of[keep] - 1
    total = np.bincount(of, minlength=line_track.size)
    rows = row[keep]
    residual = t_ref[keep] - SPEEDS[line_k][of] * tq[rows] - (line_cell[of] + 0.5) * OFFSET_CELL_FRAMES
    near_line = np.abs(residual) <= _PREFIT_BAND_FRAMES
    keep, rows = keep[near_line], rows[near_line]
    return {
        "line_q": np.full(line_track.size, q, dtype=np.uint32),
        "line_track": line_track.astype(np.uint32),
        "line_k": line_k,
        "line_cell": line_cell,
        "line_total": total.astype(np.uint32),
        "q": np.full(keep.size, q, dtype=np.uint32),
        "track": track[keep].astype(np.uint32),
        "hash": hashes[rows],
        "tq": tq[rows],
        "dtq": dtq[rows],
        "t_ref": t_ref[keep],
    }


def _fingerprint_batch(
    batch: Sequence[ChunkRef], index: FingerprintIndex
) -> tuple[dict[str, np.ndarray] | None, np.ndarray, list[ChunkFailure]]:
    """Decode, fingerprint and vote a batch: (coarse lines and their votes, tagged with batch row ``q``, or
    None when no chunk has a vote; frames per row; failures)."""
    parts: list[dict[str, np.ndarray]] = []
    n_frames = np.zeros(len(batch), dtype=np.int64)
    failures: list[ChunkFailure] = []
    for q, chunk in enumerate(batch):
        try:
            samples = decode_audio(chunk.path)
        except AudioDecodeError as exc:
            failures.append(ChunkFailure(chunk.chunk_id, str(chunk.path), exc.reason))
            continue
        n_frames[q] = samples.size // HOP + 1
        part = _coarse_lines(q, landmarks(samples), index)
        if part["q"].size:
            parts.append(part)
    if not parts:
        return None, n_frames, failures
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}, n_frames, failures


def _fit(frame: pl.DataFrame, band: float) -> pl.DataFrame:
    """Per (chunk, track): least-squares line t_ref = speed × tq + offset over rows within ``band`` of the
    previous line (columns ``speed`` and ``offset``), as new ``speed``/``offset``."""
    near = frame.filter((pl.col("t_ref") - pl.col("speed") * pl.col("tq") - pl.col("offset")).abs() <= band)
    fitted = near.group_by("q", "track").agg(
        var=pl.col("tq").var(),
        cov=pl.cov("tq", "t_ref"),
        mean_tq=pl.col("tq").mean(),
        mean_ref=pl.col("t_ref").mean(),
        prior=pl.col("speed").first(),
    )
    slope = pl.when(pl.col("var") > 100.0).then(pl.col("cov") / pl.col("var")).otherwise(pl.col("prior"))
    fitted = fitted.with_columns(speed=slope.clip(SPEEDS[0] - 0.01, SPEEDS[-1] + 0.01)).with_columns(
        offset=pl.col("mean_ref") - pl.col("speed") * pl.col("mean_tq")
    )
    return frame.drop("speed", "offset").join(fitted.select("q", "track", "speed", "offset"), on=["q", "track"])


def _detect(lines: dict[str, np.ndarray], n_frames: np.ndarray, track_frames: np.ndarray) -> pl.DataFrame:
    """Fit and score each (chunk, track) around its best cell; keep the ones that pass both thresholds."""
    key_schema = {"q": pl.UInt32, "track": pl.UInt32}
    near = pl.DataFrame(
        {name: lines[name] for name in ("q", "track", "hash", "tq", "dtq", "t_ref")},
        schema={**key_schema, "hash": pl.UInt32, "tq": pl.Float32, "dtq": pl.Float32, "t_ref": pl.Int32},
    )
    best = pl.DataFrame(
        {
            "q": lines["line_q"],
            "track": lines["line_track"],
            "speed": SPEEDS[lines["line_k"]],
            "offset": (lines["line_cell"] + 0.5) * OFFSET_CELL_FRAMES,
        },
        schema={**key_schema, "speed": pl.Float64, "offset": pl.Float64},
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
    feasible_offsets = n_frames[scored["q"].to_numpy()] + track_frames[scored["track"].to_numpy()]
    scored = scored.with_columns(feasible_offsets=pl.Series(feasible_offsets, dtype=pl.Float64))
    chance = (2 * INLIER_FRAMES + 1) * pl.col("total") / pl.col("feasible_offsets")
    return scored.filter((pl.col("score") >= CONFIRMED_MIN_SCORE) & (pl.col("score") >= CHANCE_RATIO * chance))


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


def _confirmed(weak: pl.DataFrame, strong: pl.DataFrame) -> pl.DataFrame:
    """The weak detections (below ``MIN_SCORE``) that another detection of the same station and track, strong
    or weak, confirms: another chunk at most ``CONFIRM_WINDOW_S`` away whose implied song start agrees within
    ``CONFIRM_ORIGIN_S``. Two weak lines agreeing on one track and one start by chance is as unlikely as one
    strong line: that is how a quiet 40 s jingle cut 15 + 25 s by the chunk grid is still found."""
    if weak.is_empty():
        return weak
    # A weak line under a detection of another track in the same stretch of its chunk is a version of that
    # song (or its shadow), not a play of its own: ``_resolve_versions`` would have made it the runner-up.
    span = (pl.col("query_end_s") - pl.col("query_start_s")).clip(lower_bound=FRAME_SECONDS)
    shadowed = (
        weak.with_row_index("_row")
        .join(strong.select("chunk_id", win_start="query_start_s", win_end="query_end_s"), on="chunk_id")
        .filter(
            pl.min_horizontal("query_end_s", "win_end") - pl.max_horizontal("query_start_s", "win_start")
            >= OVERLAP_SHARE * pl.min_horizontal(span, (pl.col("win_end") - pl.col("win_start")).clip(FRAME_SECONDS))
        )["_row"]
    )
    weak = weak.with_row_index("_row").filter(~pl.col("_row").is_in(shadowed.implode())).drop("_row")

    def origins(frame: pl.DataFrame) -> pl.DataFrame:
        seconds = (pl.col("track_offset_s") / pl.col("speed") * 1_000_000).round().cast(pl.Int64)
        return frame.with_columns(origin=pl.col("chunk_start_utc") - pl.duration(microseconds=seconds))

    anchors = origins(pl.concat([strong, weak])).select(
        "station_id", "track_id", anchor_chunk="chunk_id", anchor_start="chunk_start_utc", anchor_origin="origin"
    )
    pairs = origins(weak).with_row_index("_row").join(anchors, on=["station_id", "track_id"])
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
    for batch in _reported(_batches(chunks, batch_size), len(chunks), progress):
        lines, n_frames, batch_failures = _fingerprint_batch(batch, index)
        failures.extend(batch_failures)
        if lines is None:
            continue
        detected = _detect(lines, n_frames, track_frames)
        passed = detected.filter(pl.col("score") >= MIN_SCORE)
        below = detected.filter(pl.col("score") < MIN_SCORE)
        if not below.is_empty():
            weak.append(
                _to_detections(
                    below.with_columns(runner_up=pl.lit(None, pl.UInt32), runner_up_score=pl.lit(None, pl.Int64)),
                    batch,
                    n_frames,
                    track_ids,
                )
            )
        if passed.is_empty():
            continue
        winners, candidates = _resolve_versions(passed)
        found.append(_to_detections(winners, batch, n_frames, track_ids))
        ranked.append(_to_candidates(candidates, batch, track_ids))
    if not found and not weak:
        return MatchResult(pl.DataFrame(schema=DETECTION_SCHEMA), failures, pl.DataFrame(schema=CANDIDATE_SCHEMA))
    strong = pl.concat(found).cast(DETECTION_SCHEMA) if found else pl.DataFrame(schema=DETECTION_SCHEMA)
    confirmed = _confirmed(pl.concat(weak).cast(DETECTION_SCHEMA), strong) if weak else strong.clear()
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
