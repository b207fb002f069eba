"""The append-only ledger on DuckDB and PostgreSQL: idempotent re-posting, reversals and corrections."""

import threading
import time
from datetime import date, datetime

import polars as pl
import pytest

from backbeat.airplay.tables import PLAYLOGS
from backbeat.royalties import ledger
from backbeat.royalties.ledger import post_station_days

DAY = date(2026, 3, 2)  # as in conftest's `world`
BOOKED = datetime(2026, 3, 3, 2, 0)
R1 = "s1|2026-03-02|s1:2026-01-01|r1"
APRIL = datetime(2026, 4, 7, 9, 30)
FIRST_LINES = [
    ("p1", "station_receivable", None, 226),
    ("p1", "party_payable", "A", -76),
    ("p1", "party_payable", "B", -75),
    ("p1", "party_payable", "C", -75),
    ("p2", "station_receivable", None, 119),
    ("p2", "suspense", None, -119),
    ("p3", "station_receivable", None, 250),
    ("p3", "party_payable", "A", -84),
    ("p3", "party_payable", "B", -83),
    ("p3", "party_payable", "C", -83),
]


def rows(lines: pl.DataFrame, batch_id: str) -> list[tuple]:
    return (
        lines.filter(pl.col("batch_id") == batch_id)
        .sort("line_no")
        .select("play_id", "account", "party_id", "amount_minor")
        .rows()
    )


def assert_every_batch_balances_and_reversals_negate(world) -> None:
    lines, batches = world.lines(), world.batches()
    assert (
        lines.group_by("batch_id").agg(pl.col("amount_minor").sum())["amount_minor"].to_list() == [0] * batches.height
    )
    for reversal, original in (
        batches.filter(pl.col("batch_kind") == "reversal").select("batch_id", "reverses_batch_id").iter_rows()
    ):
        negated = [(p, a, party, -amount) for p, a, party, amount in rows(lines, original)]
        assert rows(lines, reversal) == negated


def test_first_posting_debits_the_station_and_credits_parties_exactly(world):
    summary = world.post()
    assert (summary.batches_posted, summary.batches_reversed, summary.plays_posted) == (1, 0, 3)
    assert summary.suspense_minor == {"EUR": 119} and summary.balance_minor == {"EUR": 0}
    lines = world.lines()
    assert rows(lines, R1) == FIRST_LINES
    assert set(lines["recording_id"].to_list()) == {"T1", "T2"}
    assert set(lines["entry_kind"].to_list()) == {"posting"} and set(lines["accounting_period"]) == {"2026-03"}
    batch = world.batches().row(0, named=True)
    assert (
        batch["batch_id"],
        batch["batch_kind"],
        batch["revision"],
        batch["reason"],
        batch["lines"],
        batch["debit_minor"],
        batch["accounting_period"],
    ) == (R1, "posting", 1, "first posting", 10, 595, "2026-03")


def test_reposting_twice_changes_nothing(world):
    world.post()
    before = (world.lines(), world.batches())
    for booked in (BOOKED, APRIL):
        summary = world.post(booked_at=booked)
        assert (summary.unchanged, summary.batches_posted, summary.lines_written) == (1, 0, 0)
    assert world.lines().equals(before[0]) and world.batches().equals(before[1])


def test_open_dispute_reverses_the_batch_and_holds_the_credits(world):
    world.post()
    world.dispute("d1", "p1", "s1", DAY, "pending")
    summary = world.post(booked_at=APRIL)
    assert (summary.batches_reversed, summary.batches_posted, summary.plays_held) == (1, 1, 1)
    assert summary.hold_minor == {"EUR": 226}
    batches = world.batches()
    assert batches["batch_id"].to_list() == [R1, f"{R1}|reversal", "s1|2026-03-02|s1:2026-01-01|r2"]
    assert batches["accounting_period"].to_list() == ["2026-03", "2026-04", "2026-04"]
    assert "dispute opened, credits held (1 play)" in batches["reason"][2]
    net = world.net()
    assert {k: v for k, v in net.items() if k[0] == "p1"} == {
        ("p1", "station_receivable", None): 226,
        ("p1", "hold", "A"): -76,
        ("p1", "hold", "B"): -75,
        ("p1", "hold", "C"): -75,
    }
    assert world.post(booked_at=APRIL).unchanged == 1
    assert_every_batch_balances_and_reversals_negate(world)


def test_upheld_dispute_reverses_and_leaves_the_play_unpaid(world):
    world.post()
    world.dispute("d1", "p1", "s1", DAY, "review")
    world.dispute("d2", "p2", "s1", DAY, "pending")  # a play without a split is held without a party
    world.post()
    world.dispute("d1", "p1", "s1", DAY, "resolved", "upheld")
    summary = world.post(booked_at=APRIL)
    assert (summary.batches_reversed, summary.batches_posted, summary.plays_upheld) == (1, 1, 1)
    batches = world.batches()
    assert batches["revision"].to_list() == [1, 1, 2, 2, 3]
    assert "dispute upheld, play not paid (1 play)" in batches["reason"][4]
    net = world.net()
    assert not [k for k in net if k[0] == "p1"]  # every p1 line netted to zero: never paid
    assert net[("p2", "hold", None)] == -119 and ("p2", "suspense", None) not in net
    assert_every_batch_balances_and_reversals_negate(world)


def test_rejected_dispute_pays_the_parties_as_first_posted(world):
    world.post()
    world.dispute("d1", "p1", "s1", DAY, "verified")
    world.post()
    world.dispute("d1", "p1", "s1", DAY, "resolved", "rejected")
    world.post(booked_at=APRIL)
    batches = world.batches()
    assert batches["basis_hash"][4] == batches["basis_hash"][0]  # r3 pays exactly what r1 paid
    assert "dispute rejected, credits released" in batches["reason"][4]
    assert rows(world.lines(), "s1|2026-03-02|s1:2026-01-01|r3") == FIRST_LINES
    assert not [k for k in world.net() if k[1] == "hold"]


def test_split_correction_reverses_and_posts_a_new_revision(world):
    world.post()
    world.withdraw_split("SS-W1")
    world.split("SS-W1-v2", "work", "W1", [("A", "writer", 6667), ("D", "writer", 3333), ("D", "publisher", 10000)])
    summary = world.post(booked_at=APRIL, reason="split corrected")
    assert (summary.batches_reversed, summary.batches_posted) == (1, 1)
    r2 = "s1|2026-03-02|s1:2026-01-01|r2"
    # writer pool (A 66.67 %, D 33.33 %) and publisher pool (D 100 %) weigh equally: A gets ~1/3, D ~2/3
    assert [r for r in rows(world.lines(), r2) if r[0] == "p1"] == [
        ("p1", "station_receivable", None, 226),
        ("p1", "party_payable", "A", -75),
        ("p1", "party_payable", "D", -151),
    ]
    assert world.batches()["reason"][2] == "split changed (2 plays) — split corrected"
    net = world.net()
    assert ("p1", "party_payable", "B") not in net and net[("p3", "party_payable", "D")] == -167
    assert_every_batch_balances_and_reversals_negate(world)


def test_split_approved_for_a_suspense_play_releases_suspense(world):
    world.post()
    world.split("SS-W2", "work", "W2", [("E", "writer", 10000), ("E", "publisher", 10000)])
    world.post(booked_at=APRIL)
    net = world.net()
    assert not [k for k in net if k[1] == "suspense"]  # suspense posted, then reversed: nets to 0
    assert net[("p2", "party_payable", "E")] == -119
    assert "split approved, suspense released (1 play)" in world.batches()["reason"][2]
    suspense = world.lines().filter(pl.col("account") == "suspense")
    assert suspense["amount_minor"].to_list() == [-119, 119]  # never edited: posted, then reversed


def test_recording_split_wins_over_the_work_split(world):
    world.split("SS-T1", "recording", "T1", [("L", "label", 10000), ("P", "artist", 10000)], valid_from=DAY)
    world.post()
    p1 = [r for r in rows(world.lines(), R1) if r[0] == "p1"]
    assert p1 == [
        ("p1", "station_receivable", None, 226),
        ("p1", "party_payable", "L", -113),
        ("p1", "party_payable", "P", -113),
    ]
    assert world.post(("s1", date(2026, 3, 1))).batches_posted == 0  # no plays that day: nothing to post


def test_tariff_fixed_posts_a_correction(world):
    world.post()
    world.tariff("s1", "0.013")  # same tariff id, corrected rate
    summary = world.post(booked_at=APRIL, reason="tariff fixed")
    assert (summary.batches_reversed, summary.batches_posted) == (1, 1)
    assert world.net()[("p1", "station_receivable", None)] == 235  # 181 s × 0.013 = 2.353
    assert world.batches()["reason"][2] == "tariff changed (3 plays) — tariff fixed"
    world.tariff("s1", "0.02", effective_from=DAY)  # a new rate from the play day: a new tariff id
    world.post(booked_at=APRIL)
    assert world.batches()["batch_id"][-1] == "s1|2026-03-02|s1:2026-03-02|r3"
    assert_every_batch_balances_and_reversals_negate(world)


def test_rate_change_mid_month_applies_from_its_date(world):
    world.tariff("s1", "0.02", effective_from=date(2026, 3, 15))
    for day in (date(2026, 3, 14), date(2026, 3, 15)):
        world.plays("s1", day, [(f"q{day.day}", "T1", 100)])
    summary = world.post(("s1", date(2026, 3, 14)), ("s1", date(2026, 3, 15)), ("s1", DAY))
    assert summary.batches_posted == 3
    debits = (
        world.lines().filter(pl.col("account") == "station_receivable").select("play_id", "amount_minor", "tariff_id")
    )
    assert sorted(debits.filter(pl.col("play_id").str.starts_with("q")).rows()) == [
        ("q14", 125, "s1:2026-01-01"),
        ("q15", 200, "s1:2026-03-15"),
    ]


def test_no_tariff_quarantines_the_plays_until_one_is_in_force(world):
    world.plays("s2", DAY, [("x1", "T1", 60), ("x2", "T2", 60)])
    summary = world.post(("s2", DAY))
    assert (summary.plays_unpriced, summary.batches_posted) == (2, 0)
    quarantined = world.db.query("SELECT reason FROM quarantine.rejected_rows WHERE partition_key = ?", [f"{DAY}|s2"])
    assert quarantined.height == 2 and "no tariff in force for s2 on 2026-03-02" in quarantined["reason"][0]
    world.tariff("s2", "0.01", currency="JPY")
    summary = world.post(("s2", DAY))
    assert (summary.plays_unpriced, summary.batches_posted, summary.debit_minor) == (0, 1, {"JPY": 2})
    assert world.db.scalar("SELECT count(*) FROM quarantine.rejected_rows WHERE partition_key = ?", [f"{DAY}|s2"]) == 0


def test_plays_gone_upstream_are_reversed_and_revisions_keep_counting(world):
    world.post()
    world.db.replace(PLAYLOGS, PLAYLOGS.empty_frame(), "station_id = ? AND play_date = ?", ["s1", DAY])
    summary = world.post(booked_at=APRIL)
    assert (summary.batches_reversed, summary.batches_posted) == (1, 0)
    assert world.net() == {}
    world.plays("s1", DAY, [("p1", "T1", 181)])
    world.post(booked_at=APRIL)
    assert world.batches()["batch_id"].to_list()[-1] == "s1|2026-03-02|s1:2026-01-01|r2"
    assert_every_batch_balances_and_reversals_negate(world)


def test_many_station_days_in_one_call_are_one_transaction(world, monkeypatch):
    world.tariff("s2", "0.01")
    world.plays("s2", DAY, [("x1", "T1", 60)])
    world.plays("s2", date(2026, 3, 3), [("x2", "T1", 60)])
    assert world.post(("s1", DAY), ("s2", DAY)).batches_posted == 2
    # s1's day now needs a correction
    world.split("SS-W2", "work", "W2", [("E", "writer", 10000), ("E", "publisher", 10000)])

    post_day = ledger._post_day

    def failing_on_the_third(conn, day, stations, booked_at, reason):
        if day == date(2026, 3, 3):
            raise RuntimeError("warehouse went away")
        return post_day(conn, day, stations, booked_at, reason)

    monkeypatch.setattr(ledger, "_post_day", failing_on_the_third)
    with pytest.raises(RuntimeError):
        post_station_days(world.db, [("s1", DAY), ("s2", DAY), ("s2", date(2026, 3, 3))], APRIL)
    assert world.batches().height == 2  # the correction of the first day was rolled back with the rest
    monkeypatch.undo()
    summary = world.post(("s1", DAY), ("s2", DAY), ("s2", date(2026, 3, 3)), booked_at=APRIL)
    assert (summary.unchanged, summary.batches_reversed, summary.batches_posted) == (1, 1, 2)


def test_concurrent_postings_of_one_station_day_take_turns(postgres_world, monkeypatch):
    world = postgres_world
    world.post(("s1", date(2026, 3, 1)))  # a day without plays: creates the indexes (their first creation serialises)
    read_inputs, barrier = ledger._read_inputs, threading.Barrier(2, timeout=30)

    def slow_read(conn, day, stations):
        inputs = read_inputs(conn, day, stations)
        time.sleep(0.3)  # without the station-day lock both runs would read before either writes
        return inputs

    monkeypatch.setattr(ledger, "_read_inputs", slow_read)
    results: list[object] = []

    def post():
        barrier.wait()
        try:
            results.append(world.post())
        except Exception as exc:  # noqa: BLE001 - the test reports it
            results.append(exc)

    threads = [threading.Thread(target=post) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted((r.batches_posted, r.unchanged) for r in results) == [(0, 1), (1, 0)], results
    assert world.batches().height == 1
