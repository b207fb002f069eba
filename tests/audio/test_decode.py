"""Decoding: every format we receive comes back as float32 mono at 11025 Hz; bad files fail clearly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import soxr

from audio.decode import SAMPLE_RATE, AudioDecodeError, decode_audio, probe_duration_s
from tests.audio.conftest import SYNTH_RATE, synth_music, write_audio, write_m4a

DURATION_S = 3.0


@pytest.fixture(scope="module")
def three_seconds() -> np.ndarray:
    return synth_music(7, DURATION_S)


@pytest.mark.parametrize("ext", ["wav", "flac", "ogg"])
def test_decode_returns_mono_float32_at_11025(tmp_path: Path, three_seconds: np.ndarray, ext: str) -> None:
    path = write_audio(tmp_path / f"clip.{ext}", three_seconds)
    samples = decode_audio(path)
    assert samples.dtype == np.float32
    assert samples.ndim == 1
    assert samples.size == pytest.approx(DURATION_S * SAMPLE_RATE, abs=2)
    assert probe_duration_s(path) == pytest.approx(DURATION_S, abs=0.01)


def test_decode_reads_mp3_and_opus_in_process(tmp_path: Path, three_seconds: np.ndarray) -> None:
    # Radio chunks arrive as MP3 (and sometimes Opus): libsndfile reads both, no ffmpeg child per chunk.
    mp3 = write_audio(tmp_path / "clip.mp3", three_seconds)
    at_48k = soxr.resample(three_seconds, SYNTH_RATE, 48000).astype(np.float32)  # Opus only codes 8-48 kHz
    opus = tmp_path / "clip.opus"
    sf.write(str(opus), at_48k, 48000, format="OGG", subtype="OPUS")
    expected = decode_audio(write_audio(tmp_path / "clip.wav", three_seconds))
    for path in (mp3, opus):
        samples = decode_audio(path)
        assert samples.dtype == np.float32 and samples.ndim == 1
        assert samples.size == pytest.approx(DURATION_S * SAMPLE_RATE, abs=2)
        assert probe_duration_s(path) == pytest.approx(DURATION_S, abs=0.01)
        # Lossy, but the same music: the spectra agree where the fingerprints look.
        spectrum, reference = np.abs(np.fft.rfft(samples)), np.abs(np.fft.rfft(expected))
        assert np.corrcoef(spectrum, reference)[0, 1] > 0.9


@pytest.mark.parametrize("rate", [44100, SAMPLE_RATE])  # resampled on the way, and read as it is
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_samples_raise(tmp_path: Path, three_seconds: np.ndarray, rate: int, bad: float) -> None:
    samples = soxr.resample(three_seconds, SYNTH_RATE, rate).astype(np.float32)
    samples[len(samples) // 3] = bad
    path = tmp_path / "float.wav"
    sf.write(str(path), samples, rate, subtype="FLOAT")
    with pytest.raises(AudioDecodeError, match="NaN or infinity"):
        decode_audio(path)


def test_decode_m4a_goes_through_ffmpeg(tmp_path: Path, three_seconds: np.ndarray) -> None:
    path = write_m4a(tmp_path / "clip.m4a", three_seconds)
    with pytest.raises(sf.LibsndfileError):
        sf.info(str(path))  # the premise: libsndfile alone cannot read it
    samples = decode_audio(path)
    assert samples.dtype == np.float32
    # AAC adds encoder priming/padding of a few milliseconds.
    assert samples.size / SAMPLE_RATE == pytest.approx(DURATION_S, abs=0.05)
    assert probe_duration_s(path) == pytest.approx(DURATION_S, abs=0.05)
    assert np.sqrt(np.mean(samples**2)) > 0.05  # real audio, not silence


def test_decode_downmixes_stereo_and_keeps_the_signal(tmp_path: Path, three_seconds: np.ndarray) -> None:
    stereo = np.stack([three_seconds, three_seconds], axis=1)
    path = tmp_path / "stereo.wav"
    sf.write(str(path), stereo, SYNTH_RATE)
    samples = decode_audio(path)
    expected = decode_audio(write_audio(tmp_path / "mono.wav", three_seconds))
    assert samples.shape == expected.shape
    np.testing.assert_allclose(samples, expected, atol=1e-4)


def test_decode_resamples_to_a_requested_rate(tmp_path: Path, three_seconds: np.ndarray) -> None:
    path = write_audio(tmp_path / "clip.flac", three_seconds)
    assert decode_audio(path, sample_rate=8000).size == pytest.approx(DURATION_S * 8000, abs=2)


def _assert_decode_error(path: Path, reason_part: str) -> None:
    for func in (decode_audio, probe_duration_s):
        with pytest.raises(AudioDecodeError) as caught:
            func(path)
        assert caught.value.path == str(path)
        assert str(caught.value).startswith(f"{path}: ")
        assert reason_part in caught.value.reason


def test_garbage_bytes_raise_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "garbage.mp3"
    path.write_bytes(np.random.default_rng(0).bytes(20_000))
    _assert_decode_error(path, "not decodable")


def test_empty_file_raises_naming_the_path(tmp_path: Path) -> None:
    path = tmp_path / "empty.wav"
    path.touch()
    _assert_decode_error(path, "empty file")


def test_missing_file_raises_naming_the_path(tmp_path: Path) -> None:
    _assert_decode_error(tmp_path / "nope.flac", "not found")


def test_header_without_samples_raises(tmp_path: Path) -> None:
    path = tmp_path / "zero.wav"
    sf.write(str(path), np.zeros(0, dtype=np.float32), SYNTH_RATE)
    with pytest.raises(AudioDecodeError, match="no audio samples"):
        decode_audio(path)


def test_truncated_file_decodes_what_is_there_or_fails_cleanly(tmp_path: Path, three_seconds: np.ndarray) -> None:
    full = write_audio(tmp_path / "full.wav", three_seconds)
    cut = tmp_path / "cut.wav"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    # libsndfile reads a wav cut mid-data up to the cut: half the audio, never an exception.
    assert decode_audio(cut).size == pytest.approx(DURATION_S / 2 * SAMPLE_RATE, rel=0.01)
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(full.read_bytes()[:44])
    with pytest.raises(AudioDecodeError):
        decode_audio(header_only)
