"""Landmark hashes: the right shape, a bounded density, and the same landmarks wherever a clip starts."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
import scipy.ndimage
import soxr

from audio import fingerprint
from audio.decode import SAMPLE_RATE
from audio.fingerprint import FRAME_SECONDS, HOP, landmark_hashes
from tests.audio.conftest import SYNTH_RATE, synth_music


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    return soxr.resample(synth_music(11, 20.0), SYNTH_RATE, SAMPLE_RATE).astype(np.float32)


def test_columns_dtypes_and_density(clip: np.ndarray) -> None:
    hashes = landmark_hashes(clip)
    assert hashes.schema == pl.Schema({"hash": pl.UInt32, "t": pl.Int32})
    per_second = hashes.height / 20.0
    assert 50 <= per_second <= 150  # ~20 peaks/s x up to 5 partners each
    assert hashes["t"].min() >= 0
    assert hashes["t"].max() * FRAME_SECONDS <= 20.0
    assert HOP / SAMPLE_RATE == FRAME_SECONDS


def test_is_deterministic(clip: np.ndarray) -> None:
    assert landmark_hashes(clip).equals(landmark_hashes(clip.copy()))


def test_a_clip_cut_from_the_middle_shares_its_landmarks(clip: np.ndarray) -> None:
    """Cut on a frame boundary, the excerpt's landmarks are the full clip's, shifted by the cut."""
    skip_frames = 300
    full = landmark_hashes(clip).with_columns(t=pl.col("t") - skip_frames)
    part = landmark_hashes(clip[skip_frames * HOP : skip_frames * HOP + 8 * SAMPLE_RATE])
    # Ignore the excerpt's edges, where peaks lose neighbours and the density window is truncated.
    inner = part.filter(pl.col("t").is_between(50, part["t"].max() - 110))
    shared = inner.join(full, on=["hash", "t"], how="semi").height
    assert shared / inner.height > 0.9


def test_unrelated_music_shares_few_landmarks(clip: np.ndarray) -> None:
    other = soxr.resample(synth_music(12, 20.0), SYNTH_RATE, SAMPLE_RATE).astype(np.float32)
    ours, theirs = landmark_hashes(clip), landmark_hashes(other)
    shared = ours.join(theirs, on="hash", how="semi").height
    assert shared / ours.height < 0.2


def test_silence_and_tiny_inputs_give_no_hashes() -> None:
    assert landmark_hashes(np.zeros(SAMPLE_RATE * 5, dtype=np.float32)).is_empty()
    assert landmark_hashes(np.ones(100, dtype=np.float32)).is_empty()
    assert landmark_hashes(np.zeros(0, dtype=np.float32)).schema == pl.Schema({"hash": pl.UInt32, "t": pl.Int32})


def test_other_sample_rates_are_resampled_and_stereo_rejected(clip: np.ndarray) -> None:
    native = landmark_hashes(clip)
    from_22k = landmark_hashes(synth_music(11, 20.0), sample_rate=SYNTH_RATE)
    assert from_22k.join(native, on=["hash", "t"], how="semi").height / native.height > 0.9
    with pytest.raises(ValueError, match="mono"):
        landmark_hashes(np.stack([clip, clip]))


def test_blockwise_peak_search_finds_the_whole_array_maxima() -> None:
    """The peak search runs block by block of frames; across block edges it must see what a whole-array
    maximum filter sees (the same neighbourhood, nothing beyond the spectrogram's edges)."""
    power = np.random.default_rng(3).gamma(0.5, size=(3 * fingerprint._PEAK_BLOCK_FRAMES + 37, 512))
    power = power.astype(np.float32)
    band = power[:, fingerprint._MIN_BIN :]
    size = (fingerprint._PEAK_TIME_NEIGHBOURS, fingerprint._PEAK_FREQ_NEIGHBOURS)
    expected = np.nonzero(band == scipy.ndimage.maximum_filter(band, size=size, mode="constant", cval=-np.inf))
    frames, bins = fingerprint._local_maxima(power)
    assert frames.size > 500  # about one per neighbourhood
    np.testing.assert_array_equal(frames, expected[0])
    np.testing.assert_array_equal(bins, expected[1] + fingerprint._MIN_BIN)


def test_block_sizes_never_change_the_landmarks(clip: np.ndarray, monkeypatch: pytest.MonkeyPatch) -> None:
    before = landmark_hashes(clip)
    monkeypatch.setattr(fingerprint, "_FFT_BLOCK_FRAMES", 37)
    monkeypatch.setattr(fingerprint, "_PEAK_BLOCK_FRAMES", 5)
    assert landmark_hashes(clip).equals(before)


def test_tempo_hypotheses_rescale_only_the_time_between_peaks(clip: np.ndarray) -> None:
    """(frequency factor, time factor) = (1, r) changes only dt; (s, s) is the speed hypothesis."""
    marks = fingerprint.landmarks(clip)
    hashes = fingerprint.hypothesis_hashes(marks, np.array([1.0, 1.0, 1.03]), np.array([1.0, 1.06, 1.03]))
    assert np.array_equal(hashes[0], fingerprint.pack_hash(marks.f1, marks.f2, marks.dt))
    assert np.array_equal(hashes[1], fingerprint.pack_hash(marks.f1, marks.f2, marks.dt * 1.06))
    assert np.array_equal(hashes[2], fingerprint.speed_hashes(marks, np.array([1.03]))[0])
    # Anchor and ratio codes (above the 6 dt bits) are the same under a tempo change; long pairs' dt is not.
    assert np.array_equal(hashes[0] >> 6, hashes[1] >> 6)
    assert np.array_equal(
        fingerprint.hash_dt(hashes[1]) != fingerprint.hash_dt(hashes[0]), np.rint(marks.dt * 1.06) != np.rint(marks.dt)
    )
    assert 0.2 < np.mean(hashes[0] != hashes[1]) < 0.9


def test_a_hash_stores_the_floor_of_its_anchor_code(clip: np.ndarray) -> None:
    """``hash_anchor_code`` reads back what ``pack_hash`` stored; ``anchor_code`` is the same scale unrounded,
    2 % of frequency a step."""
    marks = fingerprint.landmarks(clip)
    stored = fingerprint.hash_anchor_code(fingerprint.pack_hash(marks.f1, marks.f2, marks.dt))
    assert np.array_equal(stored, np.floor(fingerprint.anchor_code(marks.f1)).astype(np.int64))
    assert len(np.unique(stored)) > 50
    assert fingerprint.anchor_code(np.array([3.0 * np.exp(0.02 * 10.5)]))[0] == pytest.approx(10.5)
