"""A chunk cut short (a lost connection mid-write, a full disk) keeps the duration its header claims: an MP3's
Xing header says 30 s even when only 7 s of frames arrived. Such a chunk is measured by decoding it, stored
with the seconds that are really there, and the rest is a capture gap, so no one bills audio that was not
captured.

Decoding every chunk would double the matcher's cost, so only suspects are decoded: a chunk whose bytes per
claimed second fall below `SUSPECT_RATIO` of its station-day's median (same format) for a constant-bitrate
stream. Plain Python over the header figures.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

SUSPECT_RATIO = 0.8
MIN_MISSING_S = 0.5  # decoders differ by a frame or two at the end


@dataclass(frozen=True)
class ChunkSize:
    """What the header says of one chunk: its claimed duration and its size on disk."""

    key: str
    path: Path
    fmt: str
    start_utc: datetime
    claimed_s: float
    size_bytes: int


@dataclass(frozen=True)
class Truncation:
    """A chunk holding less audio than its header claims: the seconds decoded and the gap after them."""

    key: str
    decoded_s: float
    claimed_s: float
    gap_start_utc: datetime
    gap_end_utc: datetime

    @property
    def missing_s(self) -> float:
        return self.claimed_s - self.decoded_s

    @property
    def reason(self) -> str:
        return (
            f"truncated chunk: {self.decoded_s:.1f} s of the {self.claimed_s:.1f} s its header claims could be decoded"
        )


def suspects(chunks: list[ChunkSize]) -> list[ChunkSize]:
    """Chunks whose bytes per claimed second are well below their format's median for the station-day."""
    found = []
    for fmt in {c.fmt for c in chunks}:
        same = [c for c in chunks if c.fmt == fmt and c.claimed_s > 0]
        if len(same) < 2:
            found.extend(same)  # nothing to compare with: measure it
            continue
        median = statistics.median(c.size_bytes / c.claimed_s for c in same)
        found.extend(c for c in same if c.size_bytes / c.claimed_s < SUSPECT_RATIO * median)
    return sorted(found, key=lambda c: c.key)


def find_truncations(chunks: list[ChunkSize], decoded_seconds: Callable[[Path], float]) -> list[Truncation]:
    """Decode the suspects; those holding at least `MIN_MISSING_S` less than claimed are truncations."""
    result = []
    for chunk in suspects(chunks):
        decoded = decoded_seconds(chunk.path)
        if chunk.claimed_s - decoded >= MIN_MISSING_S:
            result.append(
                Truncation(
                    chunk.key,
                    decoded,
                    chunk.claimed_s,
                    chunk.start_utc + timedelta(seconds=decoded),
                    chunk.start_utc + timedelta(seconds=chunk.claimed_s),
                )
            )
    return result
