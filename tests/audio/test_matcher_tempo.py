"""Stations' time compressors: the tempo changed and the pitch kept (issue 19), next to resampled speed."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from audio import matcher
from audio.matcher import match_chunks
from tests.audio.conftest import (
    SYNTH_RATE,
    Catalog,
    add_white_noise,
    assert_one_play_from_5_s,
    broadcast_chunks,
    synth_music,
)


def _ffmpeg_filter(samples: np.ndarray, chain: str) -> np.ndarray:
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-nostdin", "-loglevel", "error", "-f", "f32le", "-ar", str(SYNTH_RATE)]
    cmd += ["-ac", "1", "-i", "pipe:0", "-af", chain, "-f", "f32le", "pipe:1"]
    out = subprocess.run(cmd, input=samples.astype(np.float32).tobytes(), capture_output=True, check=True).stdout
    return np.frombuffer(out, dtype=np.float32).copy()


def _atempo(samples: np.ndarray, tempo: float) -> np.ndarray:
    """``samples`` played ``tempo`` times as fast, pitch kept, by ffmpeg's WSOLA (``atempo``)."""
    return _ffmpeg_filter(samples, f"atempo={tempo}")


def _phase_vocoder(samples: np.ndarray, tempo: float) -> np.ndarray:
    """The same by Rubber Band's phase vocoder (ffmpeg's ``rubberband`` filter)."""
    return _ffmpeg_filter(samples, f"rubberband=tempo={tempo}")


def test_hypotheses_pool_only_within_their_family() -> None:
    """A speed line never pools a tempo-only hypothesis, a tempo line never a speed-only one (only (1, 1) is
    both), and each fitted slope stays in its family's range."""
    speed_only = np.abs(matcher.FREQ_FACTORS - 1.0) > 1e-9
    tempo_only = matcher.FAMILY == 1
    for line, pooled in matcher.NEIGHBOURS:
        assert not (speed_only[line] and tempo_only[pooled])
        assert not (tempo_only[line] and speed_only[pooled])
    assert set(np.round(matcher.TIME_FACTORS[tempo_only], 2)) == {0.96, 0.98, 1.02, 1.04, 1.06}
    assert matcher.SLOPE_MAX[speed_only].max() == pytest.approx(1.05)
    assert matcher.SLOPE_MAX[tempo_only].max() == pytest.approx(1.07)
    # The +6 % line pools every tempo hash from 1 up, since each tempo looks up only the hashes new to it.
    top = int(np.flatnonzero(tempo_only & (np.abs(matcher.TIME_FACTORS - 1.06) < 1e-9))[0])
    pooled = {round(float(matcher.TIME_FACTORS[k]), 2) for line, k in matcher.NEIGHBOURS if line == top}
    assert pooled == {1.0, 1.02, 1.04, 1.06}


@pytest.mark.slow
@pytest.mark.parametrize(("tempo", "stretch"), [(0.96, _atempo), (1.06, _atempo), (1.045, _phase_vocoder)])
def test_time_stretched_play_is_found_with_its_tempo(catalog: Catalog, tmp_path: Path, tempo: float, stretch) -> None:
    """Filler, then the 100 s track time-stretched (pitch kept) from 5 s, at 10 dB SNR."""
    song = stretch(catalog.signals["track-long"], tempo)
    stream = np.concatenate([synth_music(8101, 5.0), song, synth_music(8102, 20.0)])
    detections = match_chunks(
        broadcast_chunks(add_white_noise(stream, snr_db=10, seed=2), tmp_path), catalog.index
    ).detections

    assert set(detections["track_id"]) == {"track-long"}
    # The speed column is the line's slope: seconds of track per second of air, tempo or speed alike.
    assert_one_play_from_5_s(detections, tempo)


def test_unindexed_music_at_any_tempo_is_not_detected(catalog: Catalog, tmp_path: Path) -> None:
    tempos = [(8301, 0.96), (8302, 1.03), (8303, 1.06)]
    stream = np.concatenate([_atempo(synth_music(seed, 31.0), t)[: 30 * SYNTH_RATE] for seed, t in tempos])
    result = match_chunks(broadcast_chunks(add_white_noise(stream, 20), tmp_path), catalog.index)
    assert result.failures == []
    assert result.detections.is_empty()
