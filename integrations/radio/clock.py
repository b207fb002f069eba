"""Placing a live stream's samples in UTC from when they arrive, for streams that do not say when they aired.

A sample cannot arrive before it aired, and network, server and decoder delays only ever add. So for a run
whose first sample aired at `A` and a PCM read that brings the run's first `n` frames at wall time `a`,
`A + (n - 1) / rate <= a`, i.e. `A <= a - (n - 1) / rate`: every read gives an upper bound on the anchor,
and the smallest bound seen is the best estimate (the true anchor plus the smallest delay, a few ms on a
healthy link). Jitter only raises bounds, so it never moves the estimate; the estimate is the minimum over a
sliding window of wall time so that it follows the station's encoder clock, which runs up to ~100 ppm off
ours (8.6 s a day), when the labels are counted in samples. (A slow station clock makes the bounds rise, and
the window's minimum then lags by the window times the drift: 6 ms for 60 s at 100 ppm.)

  - Burst on connect: an Icecast/SHOUTcast server sends seconds of already-aired audio at once. The bound
    from the last read of the burst is about `arrival - burst`, so the estimate places the first sample
    where it aired rather than at the arrival of the first bytes. A run's anchor is therefore only fixed
    once the burst is over: `settled()` says when (see `ClockSettings`).
  - Drift: while the run goes on, `correction()` compares the chunker's labels with the estimate; the
    chunker moves its labels at a chunk boundary when they disagree by more than the tolerance.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

# Audio arriving this much ahead of real time over the settling span is a burst, less is jitter.
SETTLE_STEP = 0.05
# Wall time for the decoder's first output (its probe's worth, or a whole burst) to come out after it begins.
DECODER_DRAIN = 0.1


@dataclass(frozen=True)
class ClockSettings:
    """How a run without a source-given start time is placed in time.

    The anchor is fixed once the last `settle_quiet_seconds` of audio arrived at about real-time pace (over
    them the bound `arrival - position / rate` fell by less than `SETTLE_STEP`; audio arriving faster makes
    it fall), and at the latest `settle_seconds` of wall time after the first PCM; the PCM is held meanwhile.
    Measuring the pace over the latest audio, a pause in the middle of a burst (a network round trip) shorter
    than about `settle_quiet_seconds - SETTLE_STEP` does not end the hold: no audio arrives during it, and
    what was queued behind it then arrives faster than real time until the live edge is reached. When the
    arrival of the connection's first bytes is known, a connection without a burst settles sooner: once the
    decoder's first output (which comes all at once after its probe) has had `DECODER_DRAIN` to come out,
    no more audio than the time since those bytes has arrived (any burst would be more), so its first chunk
    is not held back. A fixed hold of several seconds would be simpler but would delay every connection's
    first chunk by as much, while a burst arrives at line speed; whatever the hold misses is corrected at the
    next chunk boundaries.
    """

    settle_seconds: float = 3.0
    settle_quiet_seconds: float = 0.3
    tolerance: float = 0.5  # labels and estimate may disagree this much before a chunk boundary moves
    window_seconds: float = 60.0  # wall time the minimum is taken over

    def __post_init__(self) -> None:
        if self.tolerance <= 0 or self.window_seconds <= 0 or self.settle_seconds < 0:
            raise ValueError("tolerance and window_seconds must be positive, settle_seconds not negative")


class ArrivalClock:
    """The sliding-window minimum of `arrival - time of the read's last sample` for one run of audio."""

    def __init__(
        self, sample_rate: int, settings: ClockSettings = ClockSettings(), first_bytes_at: float | None = None
    ) -> None:
        self.sample_rate = sample_rate
        self.settings = settings
        self.first_arrival: float | None = None
        self.last_arrival: float | None = None
        # (arrival, bound) with bounds strictly increasing: the front is the window's minimum.
        self._window: deque[tuple[float, float]] = deque()
        # (frames, bound) of the latest reads, from the last one at least settle_quiet_seconds of audio ago.
        self._recent: deque[tuple[int, float]] = deque()
        self.first_bytes_at = first_bytes_at

    def observe(self, arrived_at: float, frames: int) -> None:
        """The run's first `frames` frames have all arrived by `arrived_at` (epoch seconds)."""
        if frames <= 0:
            return
        bound = arrived_at - (frames - 1) / self.sample_rate
        if self.first_arrival is None:
            self.first_arrival = arrived_at
        self.last_arrival = arrived_at
        while self._window and self._window[-1][1] >= bound:
            self._window.pop()
        self._window.append((arrived_at, bound))
        while self._window[0][0] < arrived_at - self.settings.window_seconds:
            self._window.popleft()  # never the newest entry, so the window is never empty
        self._recent.append((frames, bound))
        quiet_frames = self.settings.settle_quiet_seconds * self.sample_rate
        while len(self._recent) > 1 and self._recent[1][0] <= frames - quiet_frames:
            self._recent.popleft()

    def estimate(self) -> float | None:
        """The latest time the run's first sample can have aired, given the reads in the window."""
        return self._window[0][1] if self._window else None

    def settled(self) -> bool:
        """Whether the burst of a new connection is over, so that the estimate can fix the anchor."""
        if self.first_arrival is None or self.last_arrival is None:
            return False
        waited = self.last_arrival - self.first_arrival
        if waited >= self.settings.settle_seconds:
            return True
        (then_frames, then_bound), (now_frames, now_bound) = self._recent[0], self._recent[-1]
        reference = self.first_bytes_at
        if reference is not None and waited >= DECODER_DRAIN and now_bound > reference - SETTLE_STEP:
            return True  # no more audio than wall time since the first bytes: no burst
        span = (now_frames - then_frames) / self.sample_rate
        return span >= self.settings.settle_quiet_seconds and now_bound > then_bound - SETTLE_STEP


def correction(anchor: float, estimate: float, tolerance: float) -> float:
    """How far to move labels counted from `anchor` (seconds, negative: earlier); 0 within `tolerance`.

    Labels later than the estimate put some sample after its arrival, which cannot be: they move earlier.
    Labels earlier than the estimate by more than the tolerance (every read in the window arrived that much
    after its label) move later. Either way by at most `tolerance` at a time: moving earlier makes the new
    chunk's time overlap the previous chunk's (samples are never dropped), and that overlap stays within the
    tolerance; moving later is what a slow station clock needs (a few ms per chunk), while a whole window of
    late reads is more often a congested link than a clock, which a bounded step rides out without
    throwing the labels seconds late.
    """
    error = anchor - estimate
    if abs(error) <= tolerance:
        return 0.0
    return -min(max(error, -tolerance), tolerance)
