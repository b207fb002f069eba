"""Radio streams: render a station's planned block at 16 kHz and cut it into 30-second landing chunks.

Chunk `k` starts exactly `30 * k` seconds after the block start and is named after that UTC instant. Most
chunks are FLAC; every 7th is OGG Vorbis and every 11th WAV, as the real recorders deliver a mix.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

import numpy as np
import soxr
from scipy import signal

from backbeat.demo import music, talk
from backbeat.demo.schedule import Segment
from backbeat.demo.seeding import rng_for

STREAM_SR = 16_000
CHUNK_S = 30
_NOISE_BANK_S = 37  # longer than a chunk, so every chunk takes a different window of it
PROGRAM_RMS = 10 ** (-15 / 20)


@dataclass(frozen=True)
class Station:
    station_id: str
    name: str
    block_start: time  # UTC

    @property
    def stream_url(self) -> str:
        return f"http://{self.station_id}.example/stream/live.mp3"

    def block_start_on(self, day: date) -> datetime:
        return datetime.combine(day, self.block_start, tzinfo=UTC)


STATIONS = (
    Station("radio-north", "Radio North", time(6, 0)),
    Station("radio-south", "Radio South", time(14, 0)),
)
CHUNK_NAME = re.compile(
    r"^(?P<station>" + "|".join(re.escape(s.station_id) for s in STATIONS) + r")_(?P<start>\d{8}T\d{6}Z)"
    r"\.(?P<ext>flac|ogg|wav)$"
)


def chunk_format(index: int) -> str:
    """The container of chunk `index` (0-based): WAV every 11th, else OGG every 7th, else FLAC."""
    if (index + 1) % 11 == 0:
        return "wav"
    if (index + 1) % 7 == 0:
        return "ogg"
    return "flac"


def chunk_name(station_id: str, start: datetime, extension: str) -> str:
    return f"{station_id}_{start.astimezone(UTC):%Y%m%dT%H%M%SZ}.{extension}"


def utc_ms(instant: datetime) -> str:
    """ISO-8601 in UTC with milliseconds and a Z: `2026-11-02T06:00:05.120Z`."""
    instant = instant.astimezone(UTC)
    return f"{instant:%Y-%m-%dT%H:%M:%S}.{instant.microsecond // 1000:03d}Z"


def resample_to_stream(audio: np.ndarray, sr: int, duration_ms: int) -> np.ndarray:
    """Resample to 16 kHz with soxr and trim or pad to exactly `duration_ms` (1 ms is 16 samples)."""
    out = soxr.resample(audio, sr, STREAM_SR).astype(np.float32)
    n = duration_ms * STREAM_SR // 1000
    return out[:n] if out.size >= n else np.pad(out, (0, n - out.size))


def render_chunks(
    seed: int, station_id: str, segments: list[Segment], block_ms: int, tracks: Mapping[str, np.ndarray]
) -> Iterator[tuple[int, np.ndarray]]:
    """Yield (index, chunk) of a block: its segments mixed at 16 kHz, plus noise and a slow gain drift.

    The noise sits 25-35 dB below programme level and the gain wanders by ±0.75 dB; samples are clipped
    to ±1 as a real recorder would. Segments are rendered when the first chunk that needs them comes up
    and dropped after the last one, so memory holds a few segments instead of the whole block.
    """
    voices = [talk.random_voice(rng_for(seed, "dj", station_id, i)) for i in range(2)]
    noise = _noise_bank(rng_for(seed, "noise", station_id))
    drift_rng = rng_for(seed, "drift", station_id)
    drift_period_s, drift_phase = drift_rng.uniform(60.0, 240.0), drift_rng.uniform(0.0, 2 * np.pi)
    chunk_size = CHUNK_S * STREAM_SR
    live: dict[int, tuple[int, np.ndarray]] = {}  # segment index -> (start sample, audio)
    upcoming = iter(segments)
    segment = next(upcoming, None)
    for index in range(block_ms * STREAM_SR // 1000 // chunk_size):
        first, last = index * chunk_size, (index + 1) * chunk_size
        while segment is not None and _samples(segment.start_ms) < last:
            audio = _segment_audio(seed, station_id, segment, voices, tracks)
            live[segment.index] = (_samples(segment.start_ms), audio)
            segment = next(upcoming, None)
        chunk = np.zeros(chunk_size, dtype=np.float32)
        for key, (start, audio) in list(live.items()):
            lo, hi = max(start, first), min(start + audio.size, last)
            if lo < hi:
                chunk[lo - first : hi - first] += audio[lo - start : hi - start]
            if start + audio.size <= last:
                del live[key]
        edges_s = np.array([index, index + 1]) * CHUNK_S
        gains = 10 ** (0.75 * np.sin(2 * np.pi * edges_s / drift_period_s + drift_phase) / 20)  # ±0.75 dB
        chunk *= np.linspace(gains[0], gains[1], chunk_size, dtype=np.float32)
        offset = int(rng_for(seed, "chunk", station_id, index).integers(0, noise.size - chunk_size))
        chunk += noise[offset : offset + chunk_size]
        yield index, np.clip(chunk, -1.0, 1.0, out=chunk)


def _samples(ms: int) -> int:
    return ms * STREAM_SR // 1000


def _segment_audio(
    seed: int, station_id: str, segment: Segment, voices: list[talk.Voice], tracks: Mapping[str, np.ndarray]
) -> np.ndarray:
    """A segment's audio at 16 kHz, with its gain and fades applied."""
    n = _samples(segment.length_ms)
    rng = rng_for(seed, segment.kind, station_id, segment.index)
    if segment.kind == "play":
        first = _samples(segment.offset_ms)
        audio = tracks[segment.track_id][first : first + n].copy()
    elif segment.kind == "talk":
        audio = talk.render_talk(voices[int(rng.integers(len(voices)))], n, STREAM_SR, rng)
    else:  # non-catalog music: its own seed stream, never one the catalog uses
        genre = music.GENRES[int(rng.integers(len(music.GENRES)))]
        audio = music.render(music.compose(rng), music.produce(rng, genre), n, STREAM_SR, rng)
    _fade(audio, _samples(segment.fade_in_ms), _samples(segment.fade_out_ms))
    audio *= np.float32(10 ** (segment.gain_db / 20))
    return audio


def _noise_bank(rng: np.random.Generator) -> np.ndarray:
    """37 s of background noise at 25-35 dB below programme level; each chunk reads its own window."""
    snr_db = rng.uniform(25.0, 35.0)
    white = rng.standard_normal(_NOISE_BANK_S * STREAM_SR).astype(np.float32)
    # Mostly low-frequency rumble with some hiss: white noise through a one-pole low-pass, plus white.
    rumble = signal.lfilter([0.05], [1.0, -0.95], white).astype(np.float32)
    bank = rumble / rumble.std() + np.float32(0.5) * white
    return bank * np.float32(PROGRAM_RMS * 10 ** (-snr_db / 20) / bank.std())


def _fade(audio: np.ndarray, fade_in: int, fade_out: int) -> None:
    fade_in, fade_out = min(fade_in, audio.size), min(fade_out, audio.size)
    if fade_in:
        audio[:fade_in] *= np.linspace(0.0, 1.0, fade_in, dtype=np.float32)
    if fade_out:
        audio[audio.size - fade_out :] *= np.linspace(1.0, 0.0, fade_out, dtype=np.float32)
