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


def test_lookup_with_a_cap_returns_exactly_the_entries_of_the_buckets_within_it(catalog: Catalog) -> None:
    index = catalog.index
    marks = landmarks(catalog.signals["track-b"][: 30 * SYNTH_RATE], SYNTH_RATE)
    hashes = np.unique(matcher._query_rows(marks)[0])  # what a chunk looks up
    sizes = index.bucket_sizes(hashes)
    cap = int(np.percentile(sizes[sizes > 0], 50))
    rows, codes, times = index.lookup(hashes)
    keep = sizes[rows] <= cap
    capped = index.lookup(hashes, max_bucket=cap)
    assert 0 < keep.sum() < keep.size  # the cap really drops some entries here
    for got, want in zip(capped, (rows[keep], codes[keep], times[keep]), strict=True):
        assert got.tolist() == want.tolist()


def test_only_hashes_of_buckets_within_the_cap_are_looked_up(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    index = catalog.index
    marks = landmarks(catalog.signals["track-b"][: 30 * SYNTH_RATE], SYNTH_RATE)
    asked: list[tuple[np.ndarray, float | None, np.ndarray]] = []
    real_lookup = FingerprintIndex.lookup

    def recording_lookup(self: FingerprintIndex, hashes: np.ndarray, max_bucket: float | None = None):
        found = real_lookup(self, hashes, max_bucket)
        asked.append((np.asarray(hashes), max_bucket, found[0]))
        return found

    monkeypatch.setattr(FingerprintIndex, "lookup", recording_lookup)
    matcher._coarse_lines(0, marks, index)  # the floor: this small catalog keeps every bucket
    everything, floor, rows = asked.pop()
    sizes = index.bucket_sizes(everything)
    assert floor is not None and sizes.max() <= 128 <= floor  # below the floor: nothing was skipped
    assert set(np.unique(rows)) == set(np.flatnonzero(sizes > 0))
    cap = int(np.percentile(sizes[sizes > 0], 50))
    monkeypatch.setattr(matcher, "CROWDED_FLOOR", cap)
    monkeypatch.setattr(matcher, "CROWDED_FACTOR", 0.0)
    matcher._coarse_lines(0, marks, index)
    hashes, asked_cap, rows = asked.pop()

    looked_up = np.unique(rows)
    assert asked_cap == cap
    assert index.bucket_sizes(hashes[looked_up]).max() <= cap
    assert set(looked_up) == set(np.flatnonzero((sizes > 0) & (sizes <= cap)))
    assert looked_up.size < int((sizes > 0).sum())
