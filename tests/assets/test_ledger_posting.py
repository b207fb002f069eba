"""What a station-day should post, computed without a warehouse: debits, exact credits, suspense, hold, hashes."""

from datetime import date, datetime
from decimal import Decimal

import polars as pl

from backbeat.royalties.posting import basis_hashes, desired_lines, tariff_in_force, tariffs_for_station_days

DAY = date(2026, 11, 2)
TARIFFS = pl.DataFrame(
    {
        "tariff_id": ["north:2026-01-01", "north:2026-11-02"],
        "station_id": ["north", "north"],
        "currency": ["EUR", "EUR"],
        "rate_per_second": [Decimal("0.008"), Decimal("0.0125")],
        "effective_from": [date(2026, 1, 1), DAY],
        "effective_to": [DAY, None],
    },
    schema_overrides={"rate_per_second": pl.Decimal(18, 6)},
)
RECORDINGS = pl.DataFrame({"recording_id": ["T1", "T2"], "work_id": ["W1", None]})
SPLITS = pl.DataFrame(
    {
        # Writers who are their own publishers: both pools covered, nothing of W1 left in suspense.
        "split_set_id": ["S1"] * 6,
        "subject_type": ["work"] * 6,
        "subject_id": ["W1"] * 6,
        "party_id": ["A", "B", "C"] * 2,
        "role": ["writer"] * 3 + ["publisher"] * 3,
        "role_group": ["writer"] * 3 + ["publisher"] * 3,
        "share_bp": [3334, 3333, 3333] * 2,
        "valid_from": [None] * 6,
        "valid_to": [None] * 6,
    },
    schema_overrides={"valid_from": pl.Date, "valid_to": pl.Date},
)
NO_DISPUTES = pl.DataFrame(schema={"play_id": pl.Utf8, "status": pl.Utf8, "resolution": pl.Utf8})


def plays(*rows, day=DAY):
    return pl.DataFrame(
        [
            {
                "play_id": p,
                "station_id": "north",
                "track_id": t,
                "play_date": day,
                "start_utc": datetime(day.year, day.month, day.day, 6, i),
                "duration_s": d,
            }
            for i, (p, t, d) in enumerate(rows)
        ]
    )


def test_each_play_debits_station_and_credits_parties_by_share_exactly():
    result = desired_lines(plays(("p1", "T1", 181), ("p2", "T2", 95)), TARIFFS, RECORDINGS, SPLITS, NO_DISPUTES)
    lines = result.lines
    assert lines["amount_minor"].sum() == 0
    assert lines.select("play_id", "account", "party_id", "amount_minor", "line_no").rows() == [
        ("p1", "station_receivable", None, 226, 1),
        ("p1", "party_payable", "A", -76, 2),
        ("p1", "party_payable", "B", -75, 3),
        ("p1", "party_payable", "C", -75, 4),
        ("p2", "station_receivable", None, 119, 5),
        ("p2", "suspense", None, -119, 6),  # no work → suspense
    ]
    assert set(lines["tariff_id"]) == {"north:2026-11-02"} and lines["recording_id"].to_list()[4] == "T2"
    assert result.unpriced.is_empty() and result.upheld.is_empty()


def test_disputed_plays_are_held_or_left_unpaid():
    disputes = pl.DataFrame(
        {
            "play_id": ["p1", "p2", "p3"],
            "status": ["pending", "review", "resolved"],
            "resolution": [None, None, "upheld"],
        }
    )
    result = desired_lines(
        plays(("p1", "T1", 181), ("p2", "T2", 95), ("p3", "T1", 60)), TARIFFS, RECORDINGS, SPLITS, disputes
    )
    assert result.lines.select("play_id", "account", "party_id", "amount_minor").rows() == [
        ("p1", "station_receivable", None, 226),
        ("p1", "hold", "A", -76),
        ("p1", "hold", "B", -75),
        ("p1", "hold", "C", -75),
        ("p2", "station_receivable", None, 119),
        ("p2", "hold", None, -119),
    ]
    assert result.upheld["play_id"].to_list() == ["p3"]


def test_plays_without_a_tariff_in_force_are_not_posted():
    early = plays(("p0", "T1", 100), day=date(2025, 12, 31))
    result = desired_lines(early, TARIFFS, RECORDINGS, SPLITS, NO_DISPUTES)
    assert result.lines.is_empty() and result.unpriced["play_id"].to_list() == ["p0"]


def test_lines_and_their_hash_do_not_depend_on_input_order():
    frame = plays(("p1", "T1", 33), ("p2", "T1", 47), ("p3", "T2", 12))
    first = desired_lines(frame, TARIFFS, RECORDINGS, SPLITS, NO_DISPUTES).lines
    again = desired_lines(frame.reverse(), TARIFFS.reverse(), RECORDINGS, SPLITS.reverse(), NO_DISPUTES).lines
    assert first.equals(again)
    assert basis_hashes(first).equals(basis_hashes(again))
    changed = first.with_columns(amount_minor=pl.when(pl.col("line_no") == 1).then(5).otherwise("amount_minor"))
    assert basis_hashes(changed)["basis_hash"][0] != basis_hashes(first)["basis_hash"][0]


def test_tariff_in_force_respects_effective_dates():
    assert tariff_in_force(TARIFFS, "north", date(2026, 11, 1)).tariff_id == "north:2026-01-01"
    assert tariff_in_force(TARIFFS, "north", DAY).rate_per_second == Decimal("0.0125")
    assert tariff_in_force(TARIFFS, "north", date(2025, 12, 31)) is None
    assert tariff_in_force(TARIFFS, "other", DAY) is None
    keys = pl.DataFrame(
        {
            "station_id": ["north", "north", "north", "other"],
            "posted_for": [date(2026, 11, 1), DAY, date(2025, 12, 31), DAY],
        }
    )
    set_wise = tariffs_for_station_days(TARIFFS, keys)
    assert sorted(set_wise.select("posted_for", "tariff_id", "rate_micro").rows()) == [
        (date(2026, 11, 1), "north:2026-01-01", 8000),
        (DAY, "north:2026-11-02", 12500),
    ]
