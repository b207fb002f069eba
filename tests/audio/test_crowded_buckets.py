"""Crowded buckets are skipped before lookup (issue 19): their votes land on every track alike."""

from __future__ import annotations

import numpy as np
import pytest

from audio import matcher
from audio.fingerprint import landmarks
from audio.index import FingerprintIndex
from tests.audio.conftest import SYNTH_RATE, Catalog


def test_bucket_sizes_count_the_postings_of_each_hash(catalog: Catalog) -> None:
    index = catalog.index
    hashes = np.array([0, 1, 2**21, 2**22 - 1], dtype=np.int64)
    rows, _, _ = index.lookup(hashes)
    assert index.bucket_sizes(hashes).tolist() == np.bincount(rows, minlength=hashes.size).tolist()
    assert index.mean_bucket_size == pytest.approx(index.n_hashes / 2**22)


def test_only_hashes_of_buckets_within_the_cap_are_looked_up(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    index = catalog.index
    marks = landmarks(catalog.signals["track-b"][: 30 * SYNTH_RATE], SYNTH_RATE)
    asked: list[np.ndarray] = []
    real_lookup = FingerprintIndex.lookup

    def recording_lookup(self: FingerprintIndex, hashes: np.ndarray):
        asked.append(np.asarray(hashes))
        return real_lookup(self, hashes)

    monkeypatch.setattr(FingerprintIndex, "lookup", recording_lookup)
    matcher._coarse_lines(0, marks, index)  # the floor: this small catalog keeps every bucket
    everything = asked.pop()
    sizes = index.bucket_sizes(everything)
    cap = int(np.percentile(sizes[sizes > 0], 50))
    monkeypatch.setattr(matcher, "CROWDED_FLOOR", cap)
    monkeypatch.setattr(matcher, "CROWDED_FACTOR", 0.0)
    matcher._coarse_lines(0, marks, index)
    kept = asked.pop()

    assert sizes.max() <= 128  # the small catalog is below the floor: nothing was skipped
    assert index.bucket_sizes(kept).max() <= cap
    assert kept.size == int((sizes <= cap).sum()) < everything.size
