"""The scaling planner: P* = ceil(T / (K · R)) with capacity and floors, and minimal moves between accounts."""

import json
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np
import pytest

from backbeat.curation.planner import (
    Account,
    AccountsError,
    assign,
    load_accounts,
    make_plan,
    number_playlists,
    plan_counts,
    playlists_needed,
)
from backbeat.curation.policy import PlaylistPolicy

DAY = date(2026, 11, 2)


def accounts(n: int, cap: int = 20, **overrides: dict) -> list[Account]:
    out = [Account(f"acct-{i:02d}", f"user-{i:02d}", cap) for i in range(n)]
    return [Account(**{**a.__dict__, **overrides.get(a.account_id, {})}) for a in out]


def test_p_star_is_the_ceiling_of_t_over_k_times_r() -> None:
    assert playlists_needed(150_000, 50, 10) == 300
    assert playlists_needed(150_001, 50, 10) == 301
    assert playlists_needed(149_999, 50, 10) == 300
    assert playlists_needed(1, 50, 7) == 1
    assert playlists_needed(0, 50, 7) == 0
    assert playlists_needed(700.0000000001, 50, 7) == 2  # float noise above an exact multiple is not a playlist
    assert playlists_needed(699.9999999999, 50, 7) == 2


def test_shared_tracks_count_once_and_capacity_is_shared_out_above_the_floors() -> None:
    calm = PlaylistPolicy("calm", "Calm", size=50, repeat_gap_days=10, min_playlists=2)
    party = PlaylistPolicy("party", "Party", size=50, repeat_gap_days=5, min_playlists=1)
    pools = {"calm": np.arange(0, 60_000), "party": np.arange(40_000, 100_000)}  # 20,000 tracks in both
    roomy = plan_counts([calm, party], pools, 100_000, capacity=1000)
    assert [d.effective_tracks for d in roomy] == [50_000.0, 50_000.0]  # shared tracks split half-half
    assert [(d.usable_tracks, d.p_star, d.planned) for d in roomy] == [(60_000, 100, 100), (60_000, 200, 200)]
    tight = plan_counts([calm, party], pools, 100_000, capacity=150)
    # above the floors (2 + 1), the rest in proportion to what each asks beyond its floor (98 : 199)
    assert [d.planned for d in tight] == [51, 99] and sum(d.planned for d in tight) == 150
    starved = plan_counts([calm, party], pools, 100_000, capacity=1)
    assert [d.planned for d in starved] == [2, 1]  # floors hold even beyond capacity (the rest is unassigned)
    capped = plan_counts(
        [PlaylistPolicy("calm", "Calm", size=50, repeat_gap_days=10, max_playlists=7)],
        {"calm": np.arange(60_000)},
        60_000,
        capacity=1000,
    )
    assert capped[0].p_star == 120 and capped[0].planned == 7


def test_a_plan_records_its_figures_and_limits() -> None:
    policy = PlaylistPolicy("all", "All", size=50, repeat_gap_days=7)
    plan = make_plan(DAY, [policy], {"all": np.arange(35_000)}, 40_000, accounts(3, cap=20), {}, {})
    stats = plan.stats
    assert (stats["usable_tracks"], stats["matching_tracks"], stats["p_star"]) == (40_000, 35_000, 100)
    assert (stats["capacity"], stats["planned"], stats["assigned"], stats["limited_by"]) == (60, 60, 60, "capacity")
    assert stats["actions"] == {"create": 60}
    assert [p.global_index for p in plan.playlists] == list(range(1, 61))
    assert plan.playlists[0].playlist_id == "all-001" and plan.playlists[-1].playlist_id == "all-060"
    assert max(Counter(plan.assignment.values()).values()) <= 20


def test_global_indices_never_change_and_are_never_reused() -> None:
    a = PlaylistPolicy("a", "A", size=10, repeat_gap_days=1)
    b = PlaylistPolicy("b", "B", size=10, repeat_gap_days=1)
    first = plan_counts([a, b], {"a": np.arange(20), "b": np.arange(20, 50)}, 50, 100)
    numbered = number_playlists([a, b], first, {})
    assert [(p.playlist_id, p.global_index) for p in numbered] == [
        ("a-001", 1),
        ("a-002", 2),
        ("b-001", 3),
        ("b-002", 4),
        ("b-003", 5),
    ]
    grown = plan_counts([a, b], {"a": np.arange(40), "b": np.arange(40, 50)}, 50, 100)  # a grows, b shrinks
    renumbered = number_playlists([a, b], grown, {p.playlist_id: p.global_index for p in numbered})
    assert [(p.playlist_id, p.global_index) for p in renumbered] == [
        ("a-001", 1),
        ("a-002", 2),
        ("a-003", 6),
        ("a-004", 7),
        ("b-001", 3),
    ]


def test_removing_an_account_moves_only_its_playlists() -> None:
    playlists = [f"p-{i:03d}" for i in range(120)]
    before, _ = assign(playlists, accounts(6, cap=30), {})
    loads = Counter(before.values())
    assert sum(loads.values()) == 120 and max(loads.values()) <= 30 and None not in loads
    assert assign(playlists, accounts(6, cap=30), {})[0] == before  # deterministic
    after, actions = assign(playlists, accounts(6, cap=30, **{"acct-02": {"active": False}}), before)
    moved = {p for p in playlists if after[p] != before[p]}
    assert moved == {p for p in playlists if before[p] == "acct-02"} and moved
    assert "acct-02" not in after.values() and max(Counter(after.values()).values()) <= 30
    kinds = Counter(a.action for a in actions)
    assert kinds == {"keep": 120 - len(moved), "move": len(moved)}
    assert all("acct-02 is inactive or gone" in a.reason for a in actions if a.action == "move")


def test_adding_an_account_moves_playlists_only_onto_it() -> None:
    playlists = [f"p-{i:03d}" for i in range(120)]
    before, _ = assign(playlists, accounts(5, cap=30), {})
    after, actions = assign(playlists, accounts(6, cap=30), before)
    moved = [p for p in playlists if after[p] != before[p]]
    assert all(after[p] == "acct-05" for p in moved)
    assert 10 <= len(moved) <= 30  # ≈ 120 / 6 = 20 in expectation
    assert all(a.reason == "rebalanced onto new account acct-05" for a in actions if a.action == "move")
    # naive modulo hashing would have moved most playlists
    naive = sum(1 for i in range(120) if i % 5 != i % 6)
    assert naive > 3 * len(moved)


def test_shrinking_an_account_moves_only_its_overflow() -> None:
    playlists = [f"p-{i:03d}" for i in range(100)]
    before, _ = assign(playlists, accounts(5), {})
    held = sum(1 for a in before.values() if a == "acct-01")
    after, actions = assign(playlists, accounts(5, **{"acct-01": {"max_playlists": 5}}), before)
    moved = [p for p in playlists if after[p] != before[p]]
    assert len(moved) == held - 5 and all(before[p] == "acct-01" for p in moved)
    assert all("acct-01 is over its capacity" in a.reason for a in actions if a.action == "move")


def test_without_room_playlists_are_unassigned_and_retired_ones_listed() -> None:
    playlists = [f"p-{i:03d}" for i in range(10)]
    result, actions = assign(playlists, accounts(2, cap=3), {"p-000": "acct-00", "gone-001": "acct-01"})
    assert sum(1 for a in result.values() if a is None) == 4
    kinds = Counter(a.action for a in actions)
    assert kinds["unassigned"] == 4 and kinds["retire"] == 1
    assert next(a for a in actions if a.action == "retire").playlist_id == "gone-001"


def test_accounts_file_is_validated(tmp_path: Path) -> None:
    path = tmp_path / "accounts.json"
    path.write_text(
        json.dumps(
            {
                "accounts": [
                    {"account_id": "main", "spotify_user_id": "u1", "max_playlists": 10, "active": True},
                    {"account_id": "dev", "spotify_user_id": "u2", "max_playlists": 2, "development_mode": True},
                ]
            }
        )
    )
    main, dev = load_accounts(path)
    assert (main.active, main.development_mode, dev.active, dev.development_mode) == (True, False, True, True)
    path.write_text(
        json.dumps(
            {
                "accounts": [
                    {"account_id": "main", "spotify_user_id": "u1", "max_playlists": 10, "refresh_token": "AQ..."},
                    {"account_id": "main", "spotify_user_id": "", "max_playlists": -1, "active": "yes"},
                ]
            }
        )
    )
    with pytest.raises(AccountsError) as caught:
        load_accounts(path)
    text = str(caught.value)
    assert (
        "account 'main' at accounts[0]: field 'refresh_token' is not an account field (refresh tokens belong "
        "in the token store" in text
    )
    assert "accounts[1]: field 'account_id' 'main' appears twice" in text
    assert "field 'spotify_user_id' is required" in text and "field 'max_playlists' must be a whole number" in text
    assert "field 'active' must be true or false, got 'yes'" in text
