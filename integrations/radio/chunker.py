"""Cutting a station's PCM into FLAC chunk files named by the UTC time their audio starts.

Time is counted in samples from the start of each contiguous run of audio (one connection), so a chunk's
name and length agree exactly with the audio inside it. Boundaries fall on multiples of the chunk length in
UTC (…:00, …:30 for 30 s chunks): every full chunk starts on a whole second and its name is exact; the first
chunk of a run ends at the next boundary and the last one ends where the audio stopped, so both can be short.

A run's anchor (the time of its first sample) is either given (`begin`: HLS date-times) or estimated from
when the PCM arrives (`begin_from_arrivals`, `clock.py`): the first PCM is then held until a connect burst is
over, and as the run goes on the labels follow the estimate when they drift from it by more than the
tolerance. A correction is decided when a chunk opens and takes effect at that chunk's end, never inside a
chunk: the open chunk runs on to the sample that the corrected labels put on the next boundary, so the next
chunk still starts on a boundary. Moving later shortens that chunk and leaves a hole in the time line;
moving earlier lengthens it, and its time span overlaps the next chunk's; each step is at most the
tolerance (`clock.correction`). No sample is ever dropped or written twice.

A chunk is written as a hidden `.{name}.part` file and renamed when complete, so the landing sensor (which
ignores hidden and `.part` files) never sees half a chunk. Each FLAC chunk carries its exact start in its
comment tag (`START_TAG`), since the name is truncated to the second: a restarted capture reads where the
audio it wrote ended (`resume.py`) and begins no earlier.
"""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from integrations.radio.clock import ArrivalClock, ClockSettings, correction
from integrations.radio.decoder import BYTES_PER_SAMPLE

EXTENSION = "flac"
START_TAG = "backbeat-start-utc="  # the FLAC comment holding a chunk's exact start, epoch seconds
log = logging.getLogger(__name__)


def chunk_name(station_id: str, start_utc: float, ext: str = EXTENSION) -> str:
    """`{station}_{YYYYmmddTHHMMSSZ}.{ext}`; the time is truncated to the second, as the pattern allows."""
    # A boundary falls on a whole sample, up to half a sample before the second: 57.99999 is named …58.
    stamp = datetime.fromtimestamp(math.floor(start_utc + 1e-3), UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{station_id}_{stamp}.{ext}"


class Chunker:
    """Writes one station's chunks: `begin(anchor)` or `begin_from_arrivals()`, `feed(pcm)`…, `end()` per run."""

    def __init__(
        self,
        station_id: str,
        landing: Path,
        chunk_seconds: float,
        sample_rate: int,
        channels: int,
        *,
        resume_after: float | None = None,
        on_written: Callable[[Path, float, float], None] | None = None,
    ) -> None:
        """`resume_after`: where audio written earlier (by a previous capture) ends; no run starts before it.
        `on_written(path, start, end)` is called after each chunk is renamed into place."""
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be positive")
        self.station_id = station_id
        self.landing = landing
        self.chunk_seconds = chunk_seconds
        self.sample_rate = sample_rate
        self.channels = channels
        self.written: list[Path] = []
        self.starts: list[float] = []  # the exact start of each written chunk (its name is truncated to the second)
        self.corrections: list[tuple[float, float]] = []  # (boundary where the labels moved, seconds moved)
        self.audio_end_utc: float | None = resume_after  # end of the last audio written, for gaps and clamping
        self.run_anchor: float | None = None  # the current run's first-sample time; None while being settled
        self._frame_bytes = BYTES_PER_SAMPLE * channels
        self._anchor = 0.0
        self._position = 0  # frames since the anchor
        self._carry = b""  # a partial frame left over from the last read
        self._file: sf.SoundFile | None = None
        self._part: Path | None = None
        self._final: Path | None = None
        self._chunk_start = 0  # frame positions where the open chunk starts and ends
        self._chunk_end = 0
        self._start_utc = 0.0  # the open chunk's exact start
        self._clock: ArrivalClock | None = None  # set for a run placed in time by its arrivals
        self._floor: float | None = None  # the end of the audio before this run, which it must not overlap
        self._held: list[np.ndarray] = []  # a settling run's PCM, written once its anchor is known
        self._received = 0  # frames received in this run, held ones included
        self._settled_estimate = 0.0  # the clock's estimate when the anchor was fixed (for the drift in ppm)
        self._pending: tuple[float, float] | None = None  # (new anchor, estimate) taking effect at the chunk's end
        self._on_written = on_written
        self._written_end = resume_after  # end of the audio in chunks already in place
        landing.mkdir(parents=True, exist_ok=True)

    def begin(self, anchor_utc: float) -> float:
        """Start a contiguous run whose first sample plays at `anchor_utc` (epoch seconds); returns the anchor used."""
        self.end()
        self._clock = None
        # Never overlap audio already written (an early estimate after a short outage could).
        if self.audio_end_utc is not None:
            anchor_utc = max(anchor_utc, self.audio_end_utc)
        self._anchor, self._position, self._carry = anchor_utc, 0, b""
        self.run_anchor = anchor_utc
        return anchor_utc

    def begin_from_arrivals(self, settings: ClockSettings | None = None, first_bytes_at: float | None = None) -> None:
        """Start a run whose first sample's time is estimated from when its PCM arrives (`feed(arrived_at=)`).

        Its PCM is held until the estimate settles (`run_anchor` is None until then), and the anchor is
        clamped to the end of the audio already written, as `begin` does. `first_bytes_at`, when the
        connection's first compressed bytes arrived, lets a connection without a burst settle at once.
        """
        self.end()
        self._clock = ArrivalClock(self.sample_rate, settings or ClockSettings(), first_bytes_at)
        self._floor = self.audio_end_utc
        self._position, self._carry, self._received, self._held = 0, b"", 0, []
        self.run_anchor = None

    def feed(self, pcm: bytes, arrived_at: float | None = None) -> None:
        """Append PCM to the run; `arrived_at` (epoch seconds, default now) is when it came out of the decoder."""
        data = self._carry + pcm
        usable = len(data) - len(data) % self._frame_bytes
        self._carry = data[usable:]
        frames = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, self.channels)
        if self._clock is None or not len(frames):
            self._write(frames)
            return
        self._received += len(frames)
        self._clock.observe(time.time() if arrived_at is None else arrived_at, self._received)
        if self.run_anchor is not None:
            self._write(frames)
            return
        self._held.append(frames)
        if self._clock.settled():
            self._settle()

    def _settle(self) -> None:
        """Fix a held run's anchor from the arrivals so far and write what was held."""
        assert self._clock is not None
        estimate = self._clock.estimate()
        assert estimate is not None  # PCM is only held after an observation
        anchor = estimate if self._floor is None else max(estimate, self._floor)
        self._anchor, self._settled_estimate, self.run_anchor = anchor, estimate, anchor
        held, self._held = self._held, []
        for frames in held:
            self._write(frames)

    def _write(self, frames: np.ndarray) -> None:
        while len(frames):
            if self._file is None:
                self._open()
            take = min(len(frames), self._chunk_end - self._position)
            assert self._file is not None
            self._file.write(frames[:take])
            self._position += take
            self.audio_end_utc = self._time(self._position)
            frames = frames[take:]
            if self._position >= self._chunk_end:
                self._close()
                self._apply_correction()

    def end(self) -> None:
        """Close the run: the open chunk is finished as a short chunk (held PCM is placed and written first)."""
        if self._held:
            self._settle()
        if self._file is not None:
            self._close()
        self._position, self._carry, self._pending = 0, b"", None

    def discard(self) -> None:
        """Drop an open partial chunk (used only when writing itself failed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._part is not None:
            self._part.unlink(missing_ok=True)
            self._part = None
        self._held = []
        self.audio_end_utc = self._written_end  # the dropped audio is part of the gap that follows

    def _time(self, position: int) -> float:
        return self._anchor + position / self.sample_rate

    def _next_boundary(self, position: int) -> int:
        """The first frame position after `position` that falls on a multiple of chunk_seconds in UTC."""
        k = math.floor(self._time(position) / self.chunk_seconds) + 1
        while True:
            boundary = round((k * self.chunk_seconds - self._anchor) * self.sample_rate)
            if boundary > position:
                return boundary
            k += 1

    def _open(self) -> None:
        start = self._time(self._position)
        name = chunk_name(self.station_id, start)
        final = self.landing / name
        # Two runs can start within one second (a drop right after a boundary); names must stay unique.
        while final.exists() or final in self.written:
            start += 1
            final = self.landing / chunk_name(self.station_id, start)
            log.warning("%s: %s already exists, naming the chunk %s", self.station_id, name, final.name)
        self._final, self._part = final, self.landing / f".{final.name}.part"
        self._chunk_start, self._chunk_end = self._position, self._next_boundary(self._position)
        self._start_utc = self._time(self._position)
        if self._clock is not None:
            self._plan_correction()
        self._file = sf.SoundFile(
            self._part, "w", samplerate=self.sample_rate, channels=self.channels, format="FLAC", subtype="PCM_16"
        )
        self._file.comment = f"{START_TAG}{self._start_utc:.6f}"

    def _close(self) -> None:
        assert self._file is not None and self._part is not None and self._final is not None
        frames = self._position - self._chunk_start
        self._file.close()
        self._file = None
        if frames:
            os.replace(self._part, self._final)  # atomic: the sensor sees the whole chunk or nothing
            self._written_end = self._start_utc + frames / self.sample_rate
            self.written.append(self._final)
            self.starts.append(self._start_utc)
            log.info("%s: wrote %s (%.2f s)", self.station_id, self._final.name, frames / self.sample_rate)
            if self._on_written is not None:
                self._on_written(self._final, self._start_utc, self._start_utc + frames / self.sample_rate)
        else:
            self._part.unlink(missing_ok=True)
        self._part = self._final = None

    def _plan_correction(self) -> None:
        """When the labels have drifted from the estimate, end the chunk being opened where the corrected
        labels reach the next boundary (after the chunk's start, and after what is already written)."""
        assert self._clock is not None
        estimate = self._clock.estimate()
        if estimate is None:
            return
        amount = correction(self._anchor, estimate, self._clock.settings.tolerance)
        if not amount:
            return
        anchor = self._anchor + amount
        k = round(self._time(self._chunk_end) / self.chunk_seconds)  # the planned end's boundary is k * chunk
        end = round((k * self.chunk_seconds - anchor) * self.sample_rate)
        while end <= self._position:  # moving later by more than the chunk: the boundary after
            k += 1
            end = round((k * self.chunk_seconds - anchor) * self.sample_rate)
        self._chunk_end, self._pending = end, (anchor, estimate)

    def _apply_correction(self) -> None:
        if self._pending is None:
            return
        (anchor, estimate), self._pending = self._pending, None
        amount, elapsed = anchor - self._anchor, self._position / self.sample_rate
        self._anchor = anchor
        boundary = self._time(self._position)
        self.corrections.append((boundary, amount))
        # The estimate falls as the station sends more samples than our clock says have aired: its clock is fast.
        ppm = (self._settled_estimate - estimate) / elapsed * 1e6 if elapsed > 0 else 0.0
        log.info(
            "%s: clock correction: labels moved %+.3f s from %s on (station clock %+.0f ppm against ours)",
            self.station_id,
            amount,
            datetime.fromtimestamp(boundary, UTC).isoformat(timespec="milliseconds"),
            ppm,
        )
