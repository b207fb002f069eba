"""Follow a broadcast through the chunks where noise hid its landmarks, by peak overlap (``audio.verify``).

A detection says which track a station aired, when the song started (its origin: chunk start − track position
÷ speed) and how fast it ran, so it also says where the song must be in every other chunk of the station until
the song's end. ``extended`` gives each *anchored* broadcast (two line detections of one station and track
agreeing on the origin, or one line scoring ``anchor_score``) a detection in every chunk of its song that has no
line of the track, where the song is there to hear (``EXTEND_Z``) for at least ``MIN_HEARD_S``, billed over the
stretch where its peaks land (``Evidence.first_frame`` .. ``last_frame``).

Off air, a song under the noise loses most of its landmark pairs but keeps several times the chance count of
single peaks at its alignment; the merge then sees one broadcast instead of pieces too short to be a play.

Only anchored broadcasts are followed: single peaks cannot tell a song from other music made of the same
sounds at the same tempo. The demo's non-catalog music comes from the same synthesizer as its catalog, and
there lone weak lines of chance passed z ≥ 6 in the chunks around them (the pipeline tests' precision fell
to 0.75); a lone line is left to the lines (``audio.matcher._confirmed``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from audio.fingerprint import FRAME_SECONDS
from audio.origins import origin_of, song_origin
from audio.verify import Evidence, QueryPeaks, ReferenceCache, ReferencePeaks, overlap

# A chunk of a known broadcast is the song when it beats chance by this much. The alignment is not a guess here
# (anchored detections of the song gave it): unrelated (track, alignment) pairs on the off-air chunks, 1,744 drawn,
# reach 2.7 at the 99th percentile and 5.0 at most; the 17 chunks it adds on the airplay benchmark claim 269.5 s of
# air of which the song filled 261.9 s (bench/README.md).
EXTEND_Z = 4.0
# ... over at least this much of the chunk: less is a song's edge, which the lines already find.
MIN_HEARD_S = 10.0
# Detections of one track whose origins agree this closely are one broadcast (as ``CONFIRM_ORIGIN_S``).
ORIGIN_S = 1.0


@dataclass(frozen=True)
class HeardChunk:
    """A decoded chunk and its peaks; ``start_utc`` naive UTC, ``seconds`` its length."""

    chunk_id: str
    station_id: str
    start_utc: datetime
    seconds: float
    peaks: QueryPeaks


@dataclass(frozen=True)
class _Broadcast:
    station_id: str
    track_id: str
    origin: datetime
    speed: float
    freq_factor: float
    reference: ReferencePeaks

    @property
    def end(self) -> datetime:
        return self.origin + timedelta(seconds=self.reference.n_frames * FRAME_SECONDS / self.speed)

    def evidence(self, chunk: HeardChunk, freq_factor: float | None = None) -> Evidence:
        offset = (chunk.start_utc - self.origin).total_seconds() * self.speed / FRAME_SECONDS
        factor = self.freq_factor if freq_factor is None else freq_factor
        return overlap(chunk.peaks, self.reference, offset, self.speed, factor)


def _by_station(chunks: Iterable[HeardChunk]) -> dict[str, list[HeardChunk]]:
    stations: dict[str, list[HeardChunk]] = {}
    for chunk in chunks:
        stations.setdefault(chunk.station_id, []).append(chunk)
    for heard in stations.values():
        heard.sort(key=lambda chunk: chunk.start_utc)
    return stations


def _broadcast(row: dict[str, Any], own: HeardChunk | None, references: ReferenceCache) -> _Broadcast | None:
    """The broadcast a detection row implies; the frequency factor (a speed change moves the pitch, a time
    compressor does not) is the one that explains the row's own chunk better."""
    reference = references.get(row["track_id"])
    speed = float(row["speed"])
    if reference is None or reference.n_frames == 0 or speed <= 0:
        return None
    origin = origin_of(row["chunk_start_utc"], row["track_offset_s"], speed)
    broadcast = _Broadcast(row["station_id"], row["track_id"], origin, speed, speed, reference)
    if abs(speed - 1.0) <= 1e-9 or own is None:
        return broadcast
    if broadcast.evidence(own, 1.0).z > broadcast.evidence(own).z:
        return _Broadcast(broadcast.station_id, broadcast.track_id, broadcast.origin, speed, 1.0, reference)
    return broadcast


def _song_chunks(broadcast: _Broadcast, heard: Sequence[HeardChunk]) -> list[HeardChunk]:
    end = broadcast.end
    return [
        chunk
        for chunk in heard
        if chunk.start_utc < end and chunk.start_utc + timedelta(seconds=chunk.seconds) > broadcast.origin
    ]


def extended(
    detections: pl.DataFrame, chunks: Sequence[HeardChunk], references: ReferenceCache, anchor_score: int
) -> pl.DataFrame:
    """New detections (the columns of ``detections``, ``score`` = hits over chance) in the chunks of each anchored
    broadcast where the song is heard but no line of its track was found."""
    if detections.is_empty():
        return detections.clear()
    stations = _by_station(chunks)
    by_id = {chunk.chunk_id: chunk for chunk in chunks}
    with_track = set(zip(detections["chunk_id"].to_list(), detections["track_id"].to_list(), strict=True))
    rows: list[dict[str, Any]] = []
    for row in _anchored(detections, anchor_score):
        broadcast = _broadcast(row, by_id.get(row["chunk_id"]), references)
        if broadcast is None:
            continue
        for chunk in _song_chunks(broadcast, stations.get(row["station_id"], [])):
            if (chunk.chunk_id, broadcast.track_id) in with_track:
                continue
            evidence = broadcast.evidence(chunk)
            heard_s = (evidence.last_frame - evidence.first_frame) * FRAME_SECONDS
            if evidence.z < EXTEND_Z or heard_s < MIN_HEARD_S:
                continue
            with_track.add((chunk.chunk_id, broadcast.track_id))
            rows.append(_detection(row, broadcast, chunk, evidence))
    return pl.DataFrame(rows, schema=detections.schema) if rows else detections.clear()


def _anchored(detections: pl.DataFrame, anchor_score: int) -> list[dict[str, Any]]:
    """One row per anchored broadcast: of the detections of a station and track whose origins chain within
    ``ORIGIN_S``, the best scored, when there are two of them or it scores ``anchor_score``."""
    ordered = detections.with_columns(_origin=song_origin()).sort("station_id", "track_id", "_origin")
    new_broadcast = (
        (pl.col("station_id") != pl.col("station_id").shift())
        | (pl.col("track_id") != pl.col("track_id").shift())
        | ((pl.col("_origin") - pl.col("_origin").shift()).dt.total_microseconds() > int(ORIGIN_S * 1_000_000))
    ).fill_null(True)
    grouped = ordered.with_columns(_broadcast=new_broadcast.cum_sum())
    anchored = grouped.filter(
        (pl.len().over("_broadcast") >= 2) | (pl.col("score").max().over("_broadcast") >= anchor_score)
    )
    best = anchored.sort("_broadcast", "score", descending=[False, True]).unique("_broadcast", keep="first")
    return best.sort("_broadcast").drop("_origin", "_broadcast").to_dicts()


def _detection(row: dict[str, Any], broadcast: _Broadcast, chunk: HeardChunk, evidence: Evidence) -> dict[str, Any]:
    return {
        **{name: None for name in row},
        "chunk_id": chunk.chunk_id,
        "station_id": chunk.station_id,
        "chunk_start_utc": chunk.start_utc,
        "track_id": broadcast.track_id,
        "track_offset_s": (chunk.start_utc - broadcast.origin).total_seconds() * broadcast.speed,
        "query_start_s": max(evidence.first_frame * FRAME_SECONDS, 0.0),
        "query_end_s": min(evidence.last_frame * FRAME_SECONDS, chunk.seconds),
        "score": max(int(round(evidence.hits - evidence.expected)), 1),
        "speed": broadcast.speed,
    }
