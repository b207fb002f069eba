"""Posting rules without a warehouse: exact amounts, largest-remainder credits, which split applies."""

import random
from datetime import date
from decimal import Decimal

import polars as pl
import pytest

from backbeat.royalties.money import MINOR_UNIT_EXPONENT, allocate, to_minor_units
from backbeat.royalties.posting import (
    allocate_largest_remainder,
    dispute_states,
    minor_units,
    rate_in_millionths,
    split_weights,
)

DAY = date(2026, 3, 2)


def test_vectorised_amounts_agree_with_to_minor_units_on_random_cases():
    rng = random.Random(20260302)
    cases = [
        (rng.randint(0, 4000), Decimal(rng.randint(0, 5_000_000)) / 10**6, rng.choice(list(MINOR_UNIT_EXPONENT)))
        for _ in range(3000)
    ]
    cases += [
        (181, Decimal("0.0125"), "EUR"),
        (3, Decimal("0.005"), "EUR"),
        (5, Decimal("0.005"), "EUR"),
        (1, Decimal("12.5"), "JPY"),
        (1, Decimal("13.5"), "JPY"),
    ]  # exact halves round to even
    frame = pl.DataFrame(
        {
            "duration_s": [d for d, _, _ in cases],
            "rate_micro": [rate_in_millionths(r) for _, r, _ in cases],
            "exponent": [MINOR_UNIT_EXPONENT[c] for _, _, c in cases],
        }
    )
    got = frame.select(minor_units(pl.col("duration_s"), pl.col("rate_micro"), pl.col("exponent")))["duration_s"]
    assert got.to_list() == [to_minor_units(d * r, c) for d, r, c in cases]
    assert got.to_list()[-5:] == [226, 2, 2, 12, 14]


def test_rates_finer_than_the_warehouse_keeps_are_refused():
    assert rate_in_millionths(Decimal("0.0125")) == 12_500
    with pytest.raises(ValueError):
        rate_in_millionths(Decimal("0.0000001"))


def test_vectorised_largest_remainder_agrees_with_money_allocate_on_random_cases():
    rng = random.Random(7)
    rows, expected = [], {}
    for case in range(2000):
        parties = sorted(rng.sample("ABCDEFGHIJ", rng.randint(1, 6)))
        weights = [rng.choice([1, 3333, 3334, 5000, 2500, 1667, rng.randint(1, 20000)]) for _ in parties]
        total = rng.choice([0, 1, 2, 7, 99, 100, 101, rng.randint(-10_000, 100_000)])
        expected[case] = allocate(total, weights)  # parties in id order: ties go to the smaller party id
        rows += [{"play": case, "party": p, "total": total, "weight": w} for p, w in zip(parties, weights, strict=True)]
    got = allocate_largest_remainder(pl.DataFrame(rows), ["play"], "total", "weight", "party")
    by_case = got.sort("play", "party").group_by("play", maintain_order=True).agg("part", "total")
    for case, parts, totals in by_case.iter_rows():
        assert parts == expected[case], case
        assert sum(parts) == totals[0]


@pytest.mark.parametrize("amount", [1, 2, 100, 226, 999, 10_001])
def test_three_thirds_sum_exactly_to_the_debit(amount):
    frame = pl.DataFrame(
        {"play": [1, 1, 1], "party": ["A", "B", "C"], "total": [amount] * 3, "weight": [3333, 3333, 3333]}
    )
    parts = allocate_largest_remainder(frame, ["play"], "total", "weight", "party").sort("party")["part"].to_list()
    assert sum(parts) == amount and max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)  # the leftover units go to the earliest party ids


def splits(*rows):
    cols = (
        "split_set_id",
        "subject_type",
        "subject_id",
        "party_id",
        "role",
        "role_group",
        "share_bp",
        "valid_from",
        "valid_to",
    )
    return pl.DataFrame(
        [dict(zip(cols, r, strict=True)) for r in rows],
        schema={
            "split_set_id": pl.Utf8,
            "subject_type": pl.Utf8,
            "subject_id": pl.Utf8,
            "party_id": pl.Utf8,
            "role": pl.Utf8,
            "role_group": pl.Utf8,
            "share_bp": pl.Int64,
            "valid_from": pl.Date,
            "valid_to": pl.Date,
        },
    )


RECORDINGS = pl.DataFrame({"recording_id": ["T1", "T2"], "work_id": ["W1", None]})


def weights(track_days, split_rows):
    frame = pl.DataFrame(track_days, schema={"track_id": pl.Utf8, "play_date": pl.Date}, orient="row")
    # None (the suspense row of an uncovered pool) sorts first
    return sorted(split_weights(frame, RECORDINGS, split_rows).rows(), key=lambda r: (r[0], r[1], r[2] or ""))


def test_party_weight_sums_its_pools():
    work = splits(
        ("S1", "work", "W1", "A", "writer", "writer", 5000, None, None),
        ("S1", "work", "W1", "B", "composer", "writer", 5000, None, None),
        ("S1", "work", "W1", "A", "publisher", "publisher", 10000, None, None),
    )
    assert weights([("T1", DAY)], work) == [("T1", DAY, "A", 750_000), ("T1", DAY, "B", 250_000)]


# The old rule passed an absent pool's weight to the pools present (this test asserted the writer got 500_000 of
# 500_000, i.e. the whole play): a writers-only sheet whose publishers table was not read paid the writers the
# publishers' share. Now the pool's weight is a suspense row (party_id None).


def test_recording_split_in_force_wins_and_windows_are_inclusive():
    rows = splits(
        ("W", "work", "W1", "A", "writer", "writer", 10000, None, None),
        ("R", "recording", "T1", "L", "label", "label", 10000, date(2026, 3, 2), date(2026, 3, 3)),
        ("X", "recording", "T2", "P", "artist", "performer", 10000, None, date(2026, 3, 1)),
    )
    got = weights(
        [
            ("T1", date(2026, 3, 1)),
            ("T1", DAY),
            ("T1", date(2026, 3, 3)),
            ("T1", date(2026, 3, 4)),
            ("T2", date(2026, 3, 1)),
            ("T2", DAY),
        ],
        rows,
    )
    # Each split fills one of its subject's two pools: the other pool's half is a suspense row (None).
    assert got == [
        ("T1", date(2026, 3, 1), None, 500_000),
        ("T1", date(2026, 3, 1), "A", 500_000),
        ("T1", DAY, None, 500_000),
        ("T1", DAY, "L", 500_000),
        ("T1", date(2026, 3, 3), None, 500_000),
        ("T1", date(2026, 3, 3), "L", 500_000),
        ("T1", date(2026, 3, 4), None, 500_000),
        ("T1", date(2026, 3, 4), "A", 500_000),
        ("T2", date(2026, 3, 1), None, 500_000),
        ("T2", date(2026, 3, 1), "P", 500_000),
    ]  # T2 on DAY: its split ended, no work → no split


def test_overlapping_split_sets_resolve_to_the_latest():
    rows = splits(
        ("OLD", "work", "W1", "A", "writer", "writer", 10000, None, None),
        ("OLD", "work", "W1", "A", "publisher", "publisher", 10000, None, None),
        ("NEW", "work", "W1", "B", "writer", "writer", 10000, date(2026, 3, 1), None),
        ("NEW", "work", "W1", "B", "publisher", "publisher", 10000, date(2026, 3, 1), None),
    )
    assert weights([("T1", DAY)], rows) == [("T1", DAY, "B", 1_000_000)]


def test_dispute_state_upheld_wins_then_open_then_rejected():
    disputes = pl.DataFrame(
        {
            "play_id": ["p1", "p1", "p2", "p2", "p3", "p4"],
            "status": ["resolved", "pending", "resolved", "review", "resolved", "resolved"],
            "resolution": ["upheld", None, "rejected", None, "rejected", None],
        }
    )
    assert sorted(dispute_states(disputes).rows()) == [
        ("p1", "upheld"),
        ("p2", "open"),
        ("p3", "rejected"),
        ("p4", "open"),
    ]
