"""The matcher's vote histogram: the sorts behind it and the best offset cell per line."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from audio import matcher


@pytest.mark.parametrize("bits", [1, 8, 16, 17, 31, 33, 47, 62])
def test_radix_sort_orders_keys_as_numpy_does(bits: int) -> None:
    rng = np.random.default_rng(bits)
    keys = rng.integers(0, 1 << bits, 5_000, dtype=np.int64)
    keys[:500] = keys[500:1000]  # duplicates
    assert np.array_equal(matcher._radix_sorted(keys.copy(), bits), np.sort(keys))


def test_radix_sort_of_nothing_or_one_key() -> None:
    assert matcher._radix_sorted(np.zeros(0, dtype=np.int64), 0).size == 0
    assert matcher._radix_sorted(np.array([7], dtype=np.int64), 3).tolist() == [7]


def _best_cells_by_counting(group: np.ndarray, cell: np.ndarray) -> dict[int, tuple[int, int]]:
    """What `_best_cells` must return, by dictionaries: per line slot, (k, cell) of the best 3-cell window (the
    lowest group, then cell, among equals), for the windows that reach half the floor."""
    floor = matcher.CONFIRMED_MIN_SCORE // 2
    totals = Counter(group.tolist())
    counts = Counter((g, c) for g, c in zip(group.tolist(), cell.tolist(), strict=True) if totals[g] >= floor)
    best: dict[int, tuple[int, int, int]] = {}
    for g, c in sorted(counts):
        window = counts[(g, c)] + counts.get((g, c - 1), 0) + counts.get((g, c + 1), 0)
        if window < floor:
            continue
        k = g % matcher.N_HYPOTHESES
        slot = (g // matcher.N_HYPOTHESES) * 2 + int(matcher.FAMILY[k])
        if slot not in best or window > best[slot][0]:
            best[slot] = (window, k, c)
    return {slot: (k, c) for slot, (_, k, c) in best.items()}


def test_the_key_sort_is_one_of_the_two_and_orders_as_numpy_does() -> None:
    chosen = matcher._key_sort()
    assert chosen in (matcher._radix_sorted, matcher._numpy_sorted) and matcher._key_sort() is chosen  # timed once
    keys = np.random.default_rng(3).integers(0, 1 << 40, 10_000, dtype=np.int64)
    assert np.array_equal(chosen(keys.copy(), 40), np.sort(keys))


@pytest.mark.parametrize("sort", ["_radix_sorted", "_numpy_sorted"])
@pytest.mark.parametrize("n_tracks", [30, 100_000])
def test_best_cells_match_a_plain_count(n_tracks: int, sort: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Random votes (tracks up to 100,000, so group keys need more than one radix digit; cells negative and far
    apart) plus planted lines: every line slot gets the window a plain count says, and a window never reaches
    from one group's highest cell into the next group's lowest (the tightest packing of the keys would), with
    either sort behind the histogram."""
    monkeypatch.setattr(matcher, "_key_sort", lambda: getattr(matcher, sort))
    rng = np.random.default_rng(n_tracks)
    n_hyp = matcher.N_HYPOTHESES
    noise_group = rng.integers(0, n_tracks * n_hyp, 60_000)
    noise_cell = rng.integers(-299, 3_795, noise_group.size)
    edge = n_tracks // 2
    planted = [
        (n_tracks - 1, 3, -100, 40),  # a line at the speed hypothesis 3
        (1, 0, 17, 12),  # a line in track 1's speed family and one in its tempo family
        (1, 6, 18, 30),
        (edge, 7, 3_795, 25),  # the chunk's highest cell, 2**12 - 1 cells above its lowest ...
        (edge, 8, -300, 30),  # ... and, in the next group (same line slot), its lowest
    ]
    group = np.r_[noise_group, *[np.full(votes, track * n_hyp + k) for track, k, _, votes in planted]]
    cell = np.r_[noise_cell, *[np.full(votes, cell) for _, _, cell, votes in planted]]
    slot, k, best_cell, _ = matcher._best_cells(group.astype(np.int64), cell.astype(np.int64))
    got = {int(s): (int(kk), int(c)) for s, kk, c in zip(slot, k, best_cell, strict=True)}
    assert got == _best_cells_by_counting(group, cell)
    family = matcher.FAMILY
    assert got[(n_tracks - 1) * 2 + family[3]] == (3, -100)
    assert got[2 + family[0]] == (0, 17)
    assert got[2 + family[6]] == (6, 18)
    # 30 votes against 25; were the two windows joined across the groups, both would hold 55 and 7 would win.
    assert got[edge * 2 + family[8]] == (8, -300)
