"""Match radio chunks against the fingerprint index: which catalog tracks play in each chunk, and where.

A chunk that contains a catalog track shares many landmark hashes with it, and — the part chance
cannot fake — those shared hashes all sit at the same time offset (reference time − chunk time).
So the matcher looks up the chunk's hashes, histograms the offsets per (chunk, track), and accepts a
track when one offset collects clearly more votes than collisions explain.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import polars as pl

from audio.decode import AudioDecodeError, decode_audio
from audio.fingerprint import FRAME_SECONDS, HOP, hash_dt, landmark_hashes
from audio.index import FingerprintIndex

DETECTION_SCHEMA: dict[str, pl.DataType] = {
    "chunk_id": pl.String(),
    "station_id": pl.String(),
    "chunk_start_utc": pl.Datetime("us"),
    "track_id": pl.String(),
    "track_offset_s": pl.Float64(),
    "query_start_s": pl.Float64(),
    "query_end_s": pl.Float64(),
    "score": pl.Int64(),
    "confidence": pl.Float64(),
}

# The chunk is fingerprinted at two sub-frame phases (0 and half a hop). A chunk boundary falls at an
# arbitrary sample, and a peak's frame can round either way; the shifted copy recovers the landmarks
# whose rounding disagreed with the reference's, roughly doubling the votes of a true match.
QUERY_SHIFTS = (0, HOP // 2)
# Votes are counted in a window of ±1 frame (23 ms) around the best offset: peak times jitter by one
# frame between the reference and a re-recorded, re-sampled broadcast.
OFFSET_TOLERANCE_FRAMES = 1
# Absolute floor of distinct reference landmarks matched at one offset. Unrelated synthetic music
# against the test catalog peaks at ~25 (a shared chord yields a burst of identical hashes); a full
# 30 s chunk of a catalog track gets 400+ even at 5 dB SNR, and 4 s of one at 5 dB still ~120.
MIN_SCORE = 50
# The best offset must also beat, by this factor, the votes expected in a window if all the
# (chunk, track) hash matches were spread evenly over every feasible offset — this rejects tracks that
# collect many votes everywhere (drones, silence-like material whose hashes are very common).
CHANCE_RATIO = 5.0


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
    """Detections (one row per chunk × track found, ``DETECTION_SCHEMA``) and the chunks that failed."""

    detections: pl.DataFrame
    failures: list[ChunkFailure]


def _batches(items: Sequence[ChunkRef], size: int) -> Iterator[Sequence[ChunkRef]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _query_hashes(samples: np.ndarray) -> pl.DataFrame:
    """The chunk's landmarks at every query shift, with ``tq`` in (fractional) frames of the chunk."""
    parts = []
    for shift in QUERY_SHIFTS:
        hashes = landmark_hashes(samples[shift:])
        parts.append(
            hashes.select("hash", (pl.col("t").cast(pl.Float64) + shift / HOP).alias("tq"))
        )
    return pl.concat(parts)


def _fingerprint_batch(batch: Sequence[ChunkRef]) -> tuple[pl.DataFrame, np.ndarray, list[ChunkFailure]]:
    """Decode and fingerprint a batch: (query hashes tagged with batch row ``q``, frames per row, failures)."""
    frames: list[pl.DataFrame] = []
    n_frames = np.zeros(len(batch), dtype=np.int64)
    failures: list[ChunkFailure] = []
    for q, chunk in enumerate(batch):
        try:
            samples = decode_audio(chunk.path)
        except AudioDecodeError as exc:
            failures.append(ChunkFailure(chunk.chunk_id, str(chunk.path), exc.reason))
            continue
        n_frames[q] = samples.size // HOP + 1
        frames.append(_query_hashes(samples).with_columns(q=pl.lit(q, dtype=pl.UInt32)))
    if not frames:
        return pl.DataFrame(schema={"hash": pl.UInt32, "tq": pl.Float64, "q": pl.UInt32}), n_frames, failures
    return pl.concat(frames), n_frames, failures


def _votes(query: pl.DataFrame, index: FingerprintIndex) -> pl.DataFrame:
    """Every (query landmark, reference landmark) pair sharing a hash, with its integer frame offset."""
    row, track, t_ref = index.lookup(query["hash"].to_numpy())
    hits = pl.DataFrame(
        {
            "q": query["q"].to_numpy()[row],
            "hash": query["hash"].to_numpy()[row],
            "tq": query["tq"].to_numpy()[row],
            "track": track,
            "t_ref": t_ref,
        },
        schema={"q": pl.UInt32, "hash": pl.UInt32, "tq": pl.Float64, "track": pl.UInt32, "t_ref": pl.Int32},
    )
    return hits.with_columns(off=(pl.col("t_ref") - pl.col("tq")).round().cast(pl.Int32))


def _best_offsets(hits: pl.DataFrame) -> pl.DataFrame:
    """For each (chunk, track), the offset whose ±tolerance window holds the most votes."""
    counts = hits.group_by("q", "track", "off").len("n")
    tol = OFFSET_TOLERANCE_FRAMES
    window = (
        pl.concat([counts.with_columns(off=pl.col("off") + d) for d in range(-tol, tol + 1)])
        .group_by("q", "track", "off")
        .agg(pl.col("n").sum())
        # The window count double-counts landmarks seen at both shifts, so it bounds the final score
        # from above: filtering on it here never loses a match.
        .filter(pl.col("n") >= MIN_SCORE)
    )
    return window.sort("n", "off", descending=[True, False]).group_by("q", "track").first()


def _detect(hits: pl.DataFrame, n_frames: np.ndarray, track_frames: np.ndarray) -> pl.DataFrame:
    """Score each (chunk, track) at its best offset and keep the ones that pass both thresholds."""
    best = _best_offsets(hits)
    totals = hits.group_by("q", "track").len("total")
    inliers = hits.join(best.select("q", "track", best_off="off"), on=["q", "track"]).filter(
        (pl.col("off") - pl.col("best_off")).abs() <= OFFSET_TOLERANCE_FRAMES
    )
    scored = (
        inliers.with_columns(t_end=pl.col("tq") + pl.Series(hash_dt(inliers["hash"].to_numpy())))
        .group_by("q", "track")
        .agg(
            # One reference landmark matched at both query shifts is still one piece of evidence.
            score=pl.struct("t_ref", "hash").n_unique().cast(pl.Int64),
            offset_frames=(pl.col("t_ref") - pl.col("tq")).mean(),
            start_frame=pl.col("tq").min(),
            end_frame=pl.col("t_end").max(),
        )
        .join(totals, on=["q", "track"])
    )
    feasible_offsets = n_frames[scored["q"].to_numpy()] + track_frames[scored["track"].to_numpy()]
    scored = scored.with_columns(feasible_offsets=pl.Series(feasible_offsets))
    chance = (2 * OFFSET_TOLERANCE_FRAMES + 1) * pl.col("total") / pl.col("feasible_offsets")
    return scored.filter((pl.col("score") >= MIN_SCORE) & (pl.col("score") >= CHANCE_RATIO * chance))


def _to_detections(
    detected: pl.DataFrame, batch: Sequence[ChunkRef], n_frames: np.ndarray, track_ids: list[str]
) -> pl.DataFrame:
    """Turn batch-local (q, track) codes and frame positions into ``DETECTION_SCHEMA`` rows."""
    q = detected["q"].to_numpy()
    chunk_seconds = n_frames[q] * FRAME_SECONDS
    end_s = np.minimum(detected["end_frame"].to_numpy() * FRAME_SECONDS, chunk_seconds)
    score = detected["score"]
    return pl.DataFrame(
        {
            "chunk_id": [batch[i].chunk_id for i in q],
            "station_id": [batch[i].station_id for i in q],
            "chunk_start_utc": [batch[i].start_utc for i in q],
            "track_id": [track_ids[i] for i in detected["track"].to_numpy()],
            "track_offset_s": detected["offset_frames"] * FRAME_SECONDS,
            "query_start_s": detected["start_frame"].clip(lower_bound=0.0) * FRAME_SECONDS,
            "query_end_s": end_s,
            "score": score,
            # A monotone squashing of the votes: 0.5 at the acceptance floor, towards 1 as evidence grows.
            "confidence": score / (score + MIN_SCORE),
        },
        schema=DETECTION_SCHEMA,
    )


def match_chunks(chunks: Sequence[ChunkRef], index: FingerprintIndex, *, batch_size: int = 32) -> MatchResult:
    """Find the catalog tracks in each chunk. Undecodable chunks become ``failures``; the rest go on.

    Chunks are decoded and matched ``batch_size`` at a time, so memory follows the batch, not the run.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    track_ids = index.track_ids
    track_frames = index.track_frames()
    found: list[pl.DataFrame] = []
    failures: list[ChunkFailure] = []
    for batch in _batches(chunks, batch_size):
        query, n_frames, batch_failures = _fingerprint_batch(batch)
        failures.extend(batch_failures)
        if query.is_empty():
            continue
        detected = _detect(_votes(query, index), n_frames, track_frames)
        if detected.is_empty():
            continue
        found.append(_to_detections(detected, batch, n_frames, track_ids))
    if not found:
        return MatchResult(pl.DataFrame(schema=DETECTION_SCHEMA), failures)
    detections = pl.concat(found).cast(DETECTION_SCHEMA).sort("chunk_start_utc", "chunk_id", "track_id")
    return MatchResult(detections, failures)
