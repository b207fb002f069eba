"""What a station broadcasts during its block: catalog plays, DJ talk, non-catalog music, crossfades.

Planning is pure integer-millisecond arithmetic, separate from rendering, so the ground truth is exact
by construction: a play's start and end are the planned ones, to the millisecond. The number of plays is
fixed first (about 25 per two hours, at least 3 when the block allows it) and the breaks share what is
left, so even a ten-minute block gets several plays, the first never before 5 s and the last inside.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MIN_PLAY_MS = 45_000
LEAD_MS = 5_000  # nothing is played in the first seconds of a block
TALK_MS = (5_000, 40_000)
MUSIC_MS = (20_000, 60_000)
CROSSFADE_MS = (2_000, 4_000)
CYCLE_MS = (250_000, 320_000)  # block length per play: about 25 plays in two hours
EDGE_FADE_MS = 30
EXCERPT_FADE_IN_MS, EXCERPT_FADE_OUT_MS = 200, 1_500


@dataclass(frozen=True)
class Segment:
    """One item of a block. `kind` is "play" (a catalog track), "talk" or "music" (not in the catalog)."""

    kind: str
    index: int
    start_ms: int
    length_ms: int
    gain_db: float
    fade_in_ms: int = EDGE_FADE_MS
    fade_out_ms: int = EDGE_FADE_MS
    track_id: str | None = None
    offset_ms: int = 0  # where in the track a play starts

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.length_ms


def plan_block(rng: np.random.Generator, block_ms: int, tracks: Sequence[tuple[str, int]]) -> list[Segment]:
    """Plan a block of `block_ms` from `tracks` (track_id, duration_ms); segments sorted by start."""
    max_plays = max(0, (block_ms - LEAD_MS) // (MIN_PLAY_MS + TALK_MS[0])) if tracks else 0
    n_plays = min(max(3, int(round(block_ms / rng.uniform(*CYCLE_MS)))), max_plays)
    cap_ms = max(MIN_PLAY_MS, int(0.6 * block_ms / max(n_plays, 1)))
    plays = [_play(rng, track, cap_ms) for track in _rotation(rng, tracks, n_plays)]
    crossfades = [
        int(rng.integers(CROSSFADE_MS[0], CROSSFADE_MS[1] + 1)) if rng.random() < 0.2 else 0
        for _ in range(max(n_plays - 1, 0))
    ]

    # Breaks: before the first play, between plays that do not crossfade, and after the last one.
    n_breaks = 1 + crossfades.count(0) + 1
    minimums = [LEAD_MS] + [TALK_MS[0]] * crossfades.count(0) + [0]
    free_ms = block_ms - sum(length for _, _, length in plays) + sum(crossfades) - sum(minimums)
    extra = np.floor(rng.dirichlet(np.full(n_breaks, 2.0)) * free_ms).astype(int)
    breaks = [int(m + e) for m, e in zip(minimums, extra, strict=True)]
    breaks[-1] += free_ms - int(extra.sum())

    durations = dict(tracks)
    segments: list[Segment] = []
    t = _fill(rng, segments, 0, breaks.pop(0))
    if not plays:
        t = _fill(rng, segments, t, breaks.pop(0))
    for i, (track_id, offset, length) in enumerate(plays):
        crossfade_in = crossfades[i - 1] if i > 0 else 0
        crossfade_out = crossfades[i] if i < len(crossfades) else 0
        cut_short = offset + length < durations[track_id]
        segments.append(
            Segment(
                kind="play",
                index=len(segments),
                start_ms=t,
                length_ms=length,
                gain_db=float(rng.uniform(-1.5, 1.5)),
                fade_in_ms=crossfade_in or (EXCERPT_FADE_IN_MS if offset > 0 else 0),
                fade_out_ms=crossfade_out or (EXCERPT_FADE_OUT_MS if cut_short else 0),
                track_id=track_id,
                offset_ms=offset,
            )
        )
        t += length
        t = t - crossfade_out if crossfade_out else _fill(rng, segments, t, breaks.pop(0))
    assert t == block_ms and not breaks, "the plan must cover the block exactly"
    return segments


def _rotation(rng: np.random.Generator, tracks: Sequence[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    """Shuffled passes over all tracks, as radio rotations go: no track twice before the others."""
    order: list[tuple[str, int]] = []
    while len(order) < n:
        batch = [tracks[int(i)] for i in rng.permutation(len(tracks))]
        if order and len(batch) > 1 and batch[0] == order[-1]:
            batch.append(batch.pop(0))
        order.extend(batch)
    return order[:n]


def _play(rng: np.random.Generator, track: tuple[str, int], cap_ms: int) -> tuple[str, int, int]:
    """(track_id, offset, length): the full track, or an excerpt of at least 45 s from a random point."""
    track_id, duration = track
    if duration <= cap_ms and rng.random() < 0.65:
        return track_id, 0, duration
    length = int(rng.integers(MIN_PLAY_MS, min(duration, cap_ms) + 1))
    return track_id, int(rng.integers(0, duration - length + 1)), length


def _fill(rng: np.random.Generator, segments: list[Segment], start: int, length: int) -> int:
    """Fill a break with talk and, sometimes, non-catalog music; return where the break ends."""
    t, remaining = start, length
    while remaining > TALK_MS[1]:
        if rng.random() < 0.45 and remaining >= MUSIC_MS[0] + TALK_MS[0]:
            kind, (low, high) = "music", MUSIC_MS
        else:
            kind, (low, high) = "talk", TALK_MS
        item = int(rng.integers(low, min(high, remaining - TALK_MS[0]) + 1))
        segments.append(Segment(kind, len(segments), t, item, float(rng.uniform(-1.5, 1.5))))
        t, remaining = t + item, remaining - item
    if remaining > 0:  # below 5 s only at the very end of the block, where the talk gets cut off
        segments.append(Segment("talk", len(segments), t, remaining, float(rng.uniform(-1.5, 1.5))))
    return t + remaining
