"""Decode any audio file we receive into float32 mono samples at the fingerprinting rate.

libsndfile (through soundfile) reads wav/flac/ogg/opus/mp3 in-process; anything it cannot read
(m4a/aac from stream recorders, mostly) goes through the ffmpeg binary that imageio-ffmpeg ships.
Every failure becomes an ``AudioDecodeError`` naming the file and the reason, so callers can report
and skip one bad file instead of dying on it.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

# 11025 Hz keeps everything up to 5.5 kHz, where the strong, noise-robust spectral peaks of music live,
# and quarters the STFT cost compared with 44.1 kHz.
SAMPLE_RATE = 11025

# A chunk or catalog file is never hours long; this only stops a wedged ffmpeg from hanging a run.
_FFMPEG_TIMEOUT_S = 600


class AudioDecodeError(Exception):
    """A file that could not be turned into samples; ``path`` and ``reason`` say which and why."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _check_file(path: Path) -> None:
    if not path.exists():
        raise AudioDecodeError(path, "file not found")
    if not path.is_file():
        raise AudioDecodeError(path, "not a regular file")
    if path.stat().st_size == 0:
        raise AudioDecodeError(path, "empty file (0 bytes)")


def _ffmpeg_exe() -> str:
    import imageio_ffmpeg  # imported lazily: it looks up the binary on import

    exe: str = imageio_ffmpeg.get_ffmpeg_exe()
    return exe


def _last_error_line(stderr: bytes) -> str:
    lines = [ln.strip() for ln in stderr.decode("utf-8", "replace").splitlines() if ln.strip()]
    return lines[-1] if lines else "unknown ffmpeg error"


def _read_soundfile(path: Path) -> tuple[np.ndarray, int]:
    samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    # Plain slicing and adding: ``mean(axis=1)`` over a few interleaved channels is several times slower.
    if samples.shape[1] == 1:
        return samples[:, 0], int(rate)
    if samples.shape[1] == 2:
        return (samples[:, 0] + samples[:, 1]) * np.float32(0.5), int(rate)
    return samples.mean(axis=1, dtype=np.float32), int(rate)


def _read_ffmpeg(path: Path, sample_rate: int) -> np.ndarray:
    cmd = [
        _ffmpeg_exe(),
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(path),
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sample_rate),
        "-f",
        "f32le",
        "pipe:1",
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, timeout=_FFMPEG_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired as exc:
        raise AudioDecodeError(path, f"ffmpeg timed out after {_FFMPEG_TIMEOUT_S} s") from exc
    if proc.returncode != 0:
        raise AudioDecodeError(path, f"not decodable audio ({_last_error_line(proc.stderr)})")
    usable = len(proc.stdout) - len(proc.stdout) % 4
    return np.frombuffer(proc.stdout[:usable], dtype="<f4").astype(np.float32)


def decode_audio(path: Path, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Return the file's audio as float32 mono at ``sample_rate``.

    Raises ``AudioDecodeError`` for a missing, empty, unreadable or sample-less file.
    """
    path = Path(path)
    _check_file(path)
    try:
        samples, rate = _read_soundfile(path)
    except (sf.LibsndfileError, RuntimeError, ValueError):
        # libsndfile rejects the container (m4a/aac, or garbage): let ffmpeg decide which it is.
        samples, rate = _read_ffmpeg(path, sample_rate), sample_rate
    if samples.size == 0:
        raise AudioDecodeError(path, "no audio samples (truncated or zero-length stream)")
    if rate != sample_rate:
        samples = soxr.resample(samples, rate, sample_rate, quality="HQ").astype(np.float32, copy=False)
    # Checked after resampling, on a quarter of the samples: a NaN or infinity in the input leaves NaN or
    # infinity in every output sample its filter reaches.
    if not np.all(np.isfinite(samples)):
        raise AudioDecodeError(path, "decoded samples contain NaN or infinity")
    return np.ascontiguousarray(samples, dtype=np.float32)


_DURATION_RE = re.compile(rb"Duration:\s*(\d+):(\d+):(\d+(?:\.\d+)?)")


def probe_duration_s(path: Path) -> float:
    """Duration in seconds from the file header, without decoding the audio when avoidable.

    Raises ``AudioDecodeError`` like ``decode_audio``.
    """
    path = Path(path)
    _check_file(path)
    try:
        info = sf.info(str(path))
        if info.frames > 0 and info.samplerate > 0:
            duration: float = info.frames / info.samplerate
            return duration
    except (sf.LibsndfileError, RuntimeError, ValueError):
        pass
    # ffmpeg prints the container's duration while failing for want of an output file.
    proc = subprocess.run(
        [_ffmpeg_exe(), "-nostdin", "-hide_banner", "-i", str(path)],
        capture_output=True,
        timeout=_FFMPEG_TIMEOUT_S,
        check=False,
    )
    match = _DURATION_RE.search(proc.stderr)
    if match:
        hours, minutes, seconds = match.groups()
        duration = int(hours) * 3600 + int(minutes) * 60 + float(seconds)
        if duration > 0:
            return duration
    # No usable header (raw streams, or the header says N/A): count the samples instead.
    return decode_audio(path).size / SAMPLE_RATE
