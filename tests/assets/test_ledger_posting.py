from datetime import date, datetime
from decimal import Decimal

import polars as pl

from assets.royalties.posting import Tariff, post_plays, shares_by_work, tariff_in_force

DAY = date(2026, 11, 2)


def plays(*rows):
    return pl.DataFrame(
        [{"play_id": p, "track_id": t, "duration_s": d, "start_utc": datetime(2026, 11, 2, 6, i)}
         for i, (p, t, d) in enumerate(rows)]
    )


def test_each_play_debits_station_and_credits_parties_by_share_exactly():
    splits = pl.DataFrame({"work_id": ["W1"] * 3, "party_id": ["A", "B", "C"], "share_bp": [3334, 3333, 3333]})
    lines = post_plays(plays(("p1", "T1", 181), ("p2", "T2", 95)), {"T1": "W1", "T2": None},
                       shares_by_work(splits), Tariff("north:2026-01-01", "EUR", Decimal("0.0125")),
                       "north", DAY, datetime(2026, 11, 3))
    assert lines["amount_minor"].sum() == 0
    p1 = lines.filter(pl.col("play_id") == "p1")
    assert p1.filter(pl.col("account") == "station_receivable")["amount_minor"].to_list() == [226]
    assert p1.filter(pl.col("account") == "party_payable")["amount_minor"].to_list() == [-76, -75, -75]
    p2 = lines.filter(pl.col("play_id") == "p2")  # no work → suspense
    assert p2["account"].to_list() == ["station_receivable", "suspense"]
    assert p2["amount_minor"].to_list() == [119, -119]
    assert lines["batch_id"].unique().to_list() == ["north|2026-11-02|north:2026-01-01"]
    assert lines["line_no"].to_list() == list(range(1, lines.height + 1))


def test_posting_is_deterministic():
    splits = pl.DataFrame({"work_id": ["W1", "W1"], "party_id": ["B", "A"], "share_bp": [5000, 5000]})
    args = ({"T1": "W1"}, shares_by_work(splits), Tariff("t", "EUR", Decimal("0.01")), "s", DAY, datetime(2026, 1, 1))
    frame = plays(("p1", "T1", 33), ("p2", "T1", 47), ("p3", "T1", 12))
    first = post_plays(frame, *args)
    again = post_plays(frame.reverse(), *args)
    assert first.equals(again)


def test_tariff_in_force_respects_effective_dates():
    tariffs = pl.DataFrame({
        "tariff_id": ["s:2026-01-01", "s:2026-11-01"], "station_id": ["s", "s"], "currency": ["EUR", "EUR"],
        "rate_per_second": [Decimal("0.008"), Decimal("0.01")],
        "effective_from": [date(2026, 1, 1), date(2026, 11, 1)], "effective_to": [date(2026, 11, 1), None],
    })
    assert tariff_in_force(tariffs, "s", date(2026, 10, 31)).tariff_id == "s:2026-01-01"
    assert tariff_in_force(tariffs, "s", date(2026, 11, 1)).rate_per_second == Decimal("0.01")
    assert tariff_in_force(tariffs, "s", date(2025, 12, 31)) is None
    assert tariff_in_force(tariffs, "other", DAY) is None
