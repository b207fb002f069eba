"""Crowded buckets are skipped before lookup (issue 19): their votes land on every track alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from audio import matcher
from audio.fingerprint import landmarks
from audio.index import FingerprintIndex
from tests.audio.conftest import SYNTH_RATE, Catalog, broadcast_chunks


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


def test_a_vote_budget_takes_whole_buckets_from_the_least_crowded_up(catalog: Catalog) -> None:
    index = catalog.index
    marks = landmarks(catalog.signals["track-b"][: 30 * SYNTH_RATE], SYNTH_RATE)
    hashes = matcher._query_rows(marks)[0]  # what a chunk looks up, repeats included
    sizes = index.bucket_sizes(hashes)
    rows, codes, times = index.lookup(hashes)
    budget = rows.size // 3
    got = index.lookup(hashes, max_entries=budget)
    # The expected rows: in order of bucket size (ties: query order), whole buckets while the total fits.
    order = np.argsort(sizes, kind="stable")
    taken = set(order[np.cumsum(sizes[order]) <= budget].tolist())
    keep = np.isin(rows, sorted(taken))
    assert 0 < got[0].size <= budget < rows.size
    for part, want in zip(got, (rows[keep], codes[keep], times[keep]), strict=True):
        assert part.tolist() == want.tolist()
    dropped = sizes[sorted(set(np.flatnonzero(sizes > 0)) - taken)]
    assert dropped.min() >= sizes[sorted(taken)].max()  # nothing kept is more crowded than anything dropped
    assert index.lookup(hashes, max_entries=rows.size)[0].tolist() == rows.tolist()  # a budget that fits: all


def test_only_hashes_of_buckets_within_the_cap_are_looked_up(catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> None:
    index = catalog.index
    marks = landmarks(catalog.signals["track-b"][: 30 * SYNTH_RATE], SYNTH_RATE)
    asked: list[tuple[np.ndarray, float | None, np.ndarray]] = []
    budgets: list[int | None] = []
    real_lookup = FingerprintIndex.budgeted_lookup

    def recording_lookup(
        self: FingerprintIndex,
        hashes: np.ndarray,
        max_bucket: float | None = None,
        max_entries: int | None = None,
    ):
        found = real_lookup(self, hashes, max_bucket, max_entries)
        asked.append((np.asarray(hashes), max_bucket, found[0]))
        budgets.append(max_entries)
        return found

    monkeypatch.setattr(FingerprintIndex, "budgeted_lookup", recording_lookup)
    matcher._coarse_lines(0, marks, index)  # the floor: this small catalog keeps every bucket
    everything, floor, rows = asked.pop()
    sizes = index.bucket_sizes(everything)
    assert floor is not None and sizes.max() <= 128 <= floor  # below the floor: nothing was skipped
    assert set(np.unique(rows)) == set(np.flatnonzero(sizes > 0))
    assert budgets[-1] == matcher.CHUNK_VOTE_BUDGET and rows.size < budgets[-1]  # the budget does not bind here
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


def test_when_the_budget_binds_the_strongest_tracks_get_every_vote_they_have(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A budget that leaves buckets out, and no line above the floor: the shortlisted track (the one playing) is
    voted with all its hashes, crowded or not, as an unlimited lookup would; the other tracks keep only their
    budgeted votes. A line above the floor, or a budget that fits, changes nothing."""
    index = catalog.index
    marks = landmarks(catalog.signals["track-b"][: 30 * SYNTH_RATE], SYNTH_RATE)
    query = matcher._Query.of(marks)
    hashes = query.hashes
    playing = index.track_ids.index("track-b")
    everything = index.lookup(hashes)
    budget = everything[0].size // 4
    budgeted = index.lookup(hashes, max_bucket=matcher._bucket_cap(index), max_entries=budget)
    monkeypatch.setattr(matcher, "CHUNK_VOTE_BUDGET", budget)
    monkeypatch.setattr(matcher, "SHORTLIST_TRACKS", 1)
    # This clean chunk's line already passes the floor on its budgeted votes: no second pass.
    votes = matcher._votes(query, index)
    row, track = votes.row, votes.track
    assert sorted(zip(row.tolist(), track.tolist(), strict=True)) == sorted(
        zip(budgeted[0].tolist(), budgeted[1].tolist(), strict=True)
    )
    monkeypatch.setattr(matcher, "SHORTLIST_BELOW", 10**9)  # as if it did not: the second pass runs
    votes = matcher._votes(query, index)
    row, track, t_ref, group, cell = votes.row, votes.track, votes.t_ref, votes.group, votes.cell

    def votes_of(found: tuple[np.ndarray, ...], mask: np.ndarray) -> list[tuple[int, int, int]]:
        return sorted(zip(*(part[mask].tolist() for part in found), strict=True))

    mine = track == playing
    assert votes_of((row, track, t_ref), mine) == votes_of(everything, everything[1] == playing)
    assert votes_of((row, track, t_ref), ~mine) == votes_of(budgeted, budgeted[1] != playing)
    assert (budgeted[1] == playing).sum() < mine.sum()  # the budget had cut the playing track's votes
    assert np.array_equal(group, track.astype(np.int64) * matcher.N_HYPOTHESES + query.k[row])
    assert np.array_equal(cell, np.floor((t_ref - query.shift[row]) / matcher.OFFSET_CELL_FRAMES).astype(np.int64))
    assert not votes.complete

    monkeypatch.setattr(matcher, "CHUNK_VOTE_BUDGET", everything[0].size)
    fits = matcher._votes(query, index)
    capped = index.lookup(hashes, max_bucket=matcher._bucket_cap(index))
    assert all(
        got.tolist() == want.tolist() for got, want in zip((fits.row, fits.track, fits.t_ref), capped, strict=True)
    )
    assert fits.complete == (capped[0].size == everything[0].size)


def test_a_lower_floor_keeps_weaker_windows_for_the_shortlist() -> None:
    n_hyp = matcher.N_HYPOTHESES
    group = np.r_[np.full(20, 2 * n_hyp), np.full(4, 5 * n_hyp + 1)].astype(np.int64)
    cell = np.r_[np.full(20, 3), np.full(4, 9)].astype(np.int64)
    assert matcher._best_cells(group, cell)[0].tolist() == [2 * 2]  # 4 votes: below half the score floor
    slots, _, cells, windows = matcher._best_cells(group, cell, 3)
    assert slots.tolist() == [2 * 2, 5 * 2] and cells.tolist() == [3, 9] and windows.tolist() == [20, 4]


def test_the_lines_at_a_lower_floor_hold_the_default_lines_exactly() -> None:
    """The second pass ranks its shortlist by windows down to ``SHORTLIST_FLOOR`` but keeps the lines of the default
    floor, computed first: those must be exactly the lower floor's lines with windows at the default floor."""
    rng = np.random.default_rng(11)
    for _ in range(20):
        group = rng.integers(0, 40 * matcher.N_HYPOTHESES, 3000).astype(np.int64)
        cell = rng.integers(-30, 30, group.size).astype(np.int64)
        cell[: group.size // 3] = rng.integers(0, 3, group.size // 3)  # some groups' votes crowd a few cells
        low = matcher._best_cells(group, cell, matcher.SHORTLIST_FLOOR)
        kept = matcher._lines_where(low, low[3] >= matcher.CONFIRMED_MIN_SCORE // 2)
        default = matcher._best_cells(group, cell)
        assert 0 < default[0].size < low[0].size
        for got, want in zip(kept, default, strict=True):
            assert got.tolist() == want.tolist()


def test_the_shortlist_ranks_tracks_by_their_best_window() -> None:
    slots = np.array([2 * 7 + 1, 2 * 3, 2 * 7, 2 * 5 + 1, 2 * 9])
    windows = np.array([40, 55, 12, 40, 8])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(matcher, "SHORTLIST_TRACKS", 3)
        assert matcher._shortlist(slots, windows).tolist() == [3, 5, 7]  # 40 = 40: the lower track first


def test_groups_too_weak_for_a_line_leave_before_the_histogram_and_change_nothing() -> None:
    """`_best_cells` drops the votes of (track, hypothesis) groups with fewer votes in all than its prefilter floor;
    a group at the floor, all in one cell, still makes its line, and adding weak groups changes no result."""
    rng = np.random.default_rng(5)
    floor = matcher.CONFIRMED_MIN_SCORE // 2
    n_hyp = matcher.N_HYPOTHESES
    strong_group = np.repeat(np.array([3 * n_hyp + 0, 7 * n_hyp + 2]), [40, floor])
    strong_cell = np.r_[np.full(30, 12), rng.integers(-50, 50, 10), np.full(floor, -4)]
    base = matcher._best_cells(strong_group.astype(np.int64), strong_cell.astype(np.int64))
    assert sorted(base[0].tolist()) == [3 * 2 + matcher.FAMILY[0], 7 * 2 + matcher.FAMILY[2]]
    weak_group = np.repeat(np.arange(100, 400) * n_hyp + 1, floor - 1)  # 300 groups, each one vote short
    weak_cell = np.full(weak_group.size, 5)
    mixed = matcher._best_cells(
        np.r_[weak_group, strong_group].astype(np.int64), np.r_[weak_cell, strong_cell].astype(np.int64)
    )
    for got, want in zip(mixed, base, strict=True):
        assert got.tolist() == want.tolist()


def test_a_chunk_the_budget_starves_is_found_by_the_second_pass(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a budget that leaves the playing track too few votes for a line, the chunk is found only when the
    shortlist is voted again: with the same line score as without any budget."""
    index = catalog.index
    samples = catalog.signals["track-b"][5 * SYNTH_RATE : 35 * SYNTH_RATE]
    marks = landmarks(samples, SYNTH_RATE)
    n_frames = np.array([int(marks.t.max()) + 1])
    playing = index.track_ids.index("track-b")

    def detected() -> dict[int, int]:
        found = matcher._detect(matcher._coarse_lines(0, marks, index)[0], n_frames, index.track_frames())
        return dict(zip(found["track"].to_list(), found["score"].to_list(), strict=True))

    unlimited = detected()
    assert unlimited[playing] >= matcher.MIN_SCORE
    monkeypatch.setattr(matcher, "CHUNK_VOTE_BUDGET", index.lookup(matcher._query_rows(marks)[0])[0].size // 100)
    monkeypatch.setattr(matcher, "SHORTLIST_TRACKS", 0)
    assert playing not in detected()  # starved: no line of it
    monkeypatch.setattr(matcher, "SHORTLIST_TRACKS", 20)
    assert detected()[playing] == unlimited[playing]


def test_a_track_detected_in_the_next_chunk_is_voted_again_in_a_chunk_a_limit_cut_short(
    catalog: Catalog, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The middle chunk of a broadcast loses every vote of its song to the lookup's limits: without the neighbour
    step it has no line of it; with it, the song (detected before and after) is voted again with all its hashes
    and found with the score it has when nothing is cut, once, whether its neighbours share its batch or not. A chunk
    whose votes were complete is never voted again."""
    chunks = broadcast_chunks(catalog.signals["track-long"][: 90 * SYNTH_RATE], tmp_path)
    monkeypatch.setattr(matcher.broadcasts, "extended", lambda lined, *_: lined.clear())  # lines only
    monkeypatch.setattr(matcher, "SHORTLIST_TRACKS", 0)
    song = catalog.index.track_ids.index("track-long")

    def middle_score(batch_size: int = 32) -> int | None:
        found = matcher.match_chunks(chunks, catalog.index, batch_size=batch_size).detections.filter(
            (pl.col("chunk_id") == "r1-1") & (pl.col("track_id") == "track-long")
        )
        return found["score"].item() if found.height else None

    whole = middle_score()
    assert whole is not None and whole >= matcher.MIN_SCORE
    voted_again: list[np.ndarray] = []
    real_track_lookup = FingerprintIndex.track_lookup

    def recording_track_lookup(self: FingerprintIndex, hashes: np.ndarray, tracks: np.ndarray):
        voted_again.append(np.asarray(tracks))
        return real_track_lookup(self, hashes, tracks)

    monkeypatch.setattr(FingerprintIndex, "track_lookup", recording_track_lookup)
    assert middle_score() == whole and not voted_again  # nothing was cut: nothing is voted again
    real_lookup = FingerprintIndex.budgeted_lookup
    calls = [0]

    def cutting_lookup(self: FingerprintIndex, hashes: np.ndarray, *args, **kwargs):
        row, track, t_ref, over_budget, left_out = real_lookup(self, hashes, *args, **kwargs)
        calls[0] += 1
        if calls[0] % 3 != 2:  # chunks r1-0 and r1-2 as they are
            return row, track, t_ref, over_budget, left_out
        kept = track != song  # r1-1: as if the limits had left out every entry of the song
        return row[kept], track[kept], t_ref[kept], over_budget, True

    monkeypatch.setattr(FingerprintIndex, "budgeted_lookup", cutting_lookup)
    monkeypatch.setattr(matcher, "REVOTE_NEIGHBOURS", False)
    assert middle_score() is None
    monkeypatch.setattr(matcher, "REVOTE_NEIGHBOURS", True)
    assert middle_score() == whole
    assert middle_score(batch_size=1) == whole  # the neighbours in other batches: the one before, the one after
    assert [tracks.tolist() for tracks in voted_again] == [[song], [song]]
