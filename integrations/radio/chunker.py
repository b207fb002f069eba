"""Cutting a station's PCM into FLAC chunk files named by the UTC time their audio starts.

Time is counted in samples from the start of each contiguous run of audio (one connection), so a chunk's
name and length agree exactly with the audio inside it. Boundaries fall on multiples of the chunk length in
UTC (…:00, …:30 for 30 s chunks): every full chunk starts on a whole second and its name is exact; the first
chunk of a run ends at the next boundary and the last one ends where the audio stopped, so both can be short.

A chunk is written as a hidden `.{name}.part` file and renamed when complete, so the landing sensor (which
ignores hidden and `.part` files) never sees half a chunk.
"""

from __future__ import annotations

import logging
import math
import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import soundfile as sf

from integrations.radio.decoder import BYTES_PER_SAMPLE

EXTENSION = "flac"
log = logging.getLogger(__name__)


def chunk_name(station_id: str, start_utc: float, ext: str = EXTENSION) -> str:
    """`{station}_{YYYYmmddTHHMMSSZ}.{ext}`; the time is truncated to the second, as the pattern allows."""
    # A boundary falls on a whole sample, up to half a sample before the second: 57.99999 is named …58.
    stamp = datetime.fromtimestamp(math.floor(start_utc + 1e-3), UTC).strftime("%Y%m%dT%H%M%SZ")
    return f"{station_id}_{stamp}.{ext}"


class Chunker:
    """Writes one station's chunks: `begin(anchor)`, `feed(pcm)`…, `end()` for each contiguous run."""

    def __init__(self, station_id: str, landing: Path, chunk_seconds: float, sample_rate: int, channels: int) -> None:
        if chunk_seconds <= 0:
            raise ValueError("chunk_seconds must be positive")
        self.station_id = station_id
        self.landing = landing
        self.chunk_seconds = chunk_seconds
        self.sample_rate = sample_rate
        self.channels = channels
        self.written: list[Path] = []
        self.audio_end_utc: float | None = None  # end of the last audio written, for gaps and clamping
        self._frame_bytes = BYTES_PER_SAMPLE * channels
        self._anchor = 0.0
        self._position = 0  # frames since the anchor
        self._carry = b""  # a partial frame left over from the last read
        self._file: sf.SoundFile | None = None
        self._part: Path | None = None
        self._final: Path | None = None
        self._chunk_start = 0  # frame positions where the open chunk starts and ends
        self._chunk_end = 0
        landing.mkdir(parents=True, exist_ok=True)

    def begin(self, anchor_utc: float) -> float:
        """Start a contiguous run whose first sample plays at `anchor_utc` (epoch seconds); returns the anchor used."""
        self.end()
        # Never overlap audio already written (an early estimate after a short outage could).
        if self.audio_end_utc is not None:
            anchor_utc = max(anchor_utc, self.audio_end_utc)
        self._anchor, self._position, self._carry = anchor_utc, 0, b""
        return anchor_utc

    def feed(self, pcm: bytes) -> None:
        data = self._carry + pcm
        usable = len(data) - len(data) % self._frame_bytes
        self._carry = data[usable:]
        frames = np.frombuffer(data[:usable], dtype="<i2").reshape(-1, self.channels)
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

    def end(self) -> None:
        """Close the run: the open chunk is finished as a short chunk."""
        if self._file is not None:
            self._close()
        self._position, self._carry = 0, b""

    def discard(self) -> None:
        """Drop an open partial chunk (used only when writing itself failed)."""
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._part is not None:
            self._part.unlink(missing_ok=True)
            self._part = None

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
        self._file = sf.SoundFile(
            self._part, "w", samplerate=self.sample_rate, channels=self.channels, format="FLAC", subtype="PCM_16"
        )

    def _close(self) -> None:
        assert self._file is not None and self._part is not None and self._final is not None
        frames = self._position - self._chunk_start
        self._file.close()
        self._file = None
        if frames:
            os.replace(self._part, self._final)  # atomic: the sensor sees the whole chunk or nothing
            self.written.append(self._final)
            log.info("%s: wrote %s (%.2f s)", self.station_id, self._final.name, frames / self.sample_rate)
        else:
            self._part.unlink(missing_ok=True)
        self._part = self._final = None
