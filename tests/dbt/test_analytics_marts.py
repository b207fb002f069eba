"""The analytics marts (leaderboards, payouts, royalties per party per month) on a small hand-made history.

Three weeks of plays (ISO weeks from Monday 2024-06-17, 2024-06-24 and 2024-07-01) on Radio Un (S1, billed in EUR,
5 minor units a second) and Beat FM (S2, USD, 3 a second). Night Drive (T1, Nina Nova, 200 s) leads week 1 with 3
plays, Loop Song (T2, The Loops, 150 s) takes week 2 with 4, and B-Side (T3, The Loops, 100 s) week 3 with 3, so
ranks climb and fall and the growth is known by hand. Week 1's Night Drive plays were billed in two currencies
(royalties shown as MIXED). Three of S1's week-2 Loop Song plays aired in the programme 'Drive Time'; the rest is
unscheduled. The last play (2024-07-03) is not posted yet. T1 pays P1 (Ada Writer), T2 and T3 pay P2 (Pub Co);
P1 is paid 2000 EUR on 2024-07-03, P2 has asked for 500 EUR. Only the analytics marts and what they read are built.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from tests.dbt.test_dbt_project import failed_nodes, query, run_dbt, source_ddl

ANALYTICS = ["--select", "+path:models/marts/analytics"]
CAUTIOUS = ["--indirect-selection", "cautious"]  # a test runs only when every model it reads is selected
LEADERBOARDS = (
    "fct_leaderboard_tracks",
    "fct_leaderboard_artists",
    "fct_leaderboard_stations",
    "fct_leaderboard_programs",
)

DURATION = {"T1": 200, "T2": 150, "T3": 100}
RATE = {"S1": ("EUR", 5, "TF1"), "S2": ("USD", 3, "TF2")}  # currency, minor units per second, tariff
PARTY = {"T1": "P1", "T2": "P2", "T3": "P2"}
PLAYS = [  # play id, station, track, day, programme (id, name) or None
    ("W1-1", "S1", "T1", "2024-06-17", None),
    ("W1-2", "S1", "T2", "2024-06-17", None),
    ("W1-3", "S1", "T1", "2024-06-18", None),
    ("W1-4", "S2", "T1", "2024-06-19", None),
    ("W1-5", "S1", "T2", "2024-06-20", None),
    ("W1-6", "S1", "T3", "2024-06-21", None),
    ("W2-1", "S1", "T1", "2024-06-24", None),
    ("W2-2", "S1", "T2", "2024-06-24", ("DRIVE", "Drive Time")),
    ("W2-3", "S1", "T1", "2024-06-25", None),
    ("W2-4", "S1", "T2", "2024-06-26", ("DRIVE", "Drive Time")),
    ("W2-5", "S1", "T2", "2024-06-27", ("DRIVE", "Drive Time")),
    ("W2-6", "S1", "T2", "2024-06-28", None),
    ("W2-7", "S2", "T3", "2024-06-29", None),
    ("W3-1", "S1", "T1", "2024-07-01", None),
    ("W3-2", "S1", "T3", "2024-07-01", None),
    ("W3-3", "S1", "T3", "2024-07-02", None),
    ("W3-4", "S1", "T3", "2024-07-03", None),  # not posted yet
]
UNPOSTED = {"W3-4"}
LINE = (
    "insert into royalties.royalty_ledger (batch_id, line_no, entry_kind, posted_for, accounting_period, posted_at, "
    "station_id, play_id, recording_id, account, party_id, amount_minor, currency, tariff_id) values"
)

CATALOG = """
insert into catalog.artists (artist_id, name, country, ingested_at) values
    ('A1', 'Nina Nova', 'FR', '2024-05-30 08:00:00'), ('A2', 'The Loops', 'GB', '2024-05-30 08:00:00');
insert into catalog.tracks (track_id, isrc, title, artist_id, duration_ms, work_id) values
    ('T1', 'FRX202400001', 'Night Drive', 'A1', 200000, null),
    ('T2', 'GBX202400002', 'Loop Song', 'A2', 150000, null),
    ('T3', 'GBX202400003', 'B-Side', 'A2', 100000, null);
insert into airplay.stations (station_id, name, stream_url, active, timezone) values
    ('S1', 'Radio Un', 'http://radio-un.example/stream', true, 'Europe/Paris'),
    ('S2', 'Beat FM', 'http://beat.example/live', true, 'America/New_York');
insert into rights.parties (party_id, name, ipi, party_type, source_file) values
    ('P1', 'Ada Writer', null, 'person', 'parties.csv'), ('P2', 'Pub Co', null, 'company', 'parties.csv');
insert into royalties.tariffs (tariff_id, station_id, currency, rate_per_second, effective_from, effective_to) values
    ('TF1', 'S1', 'EUR', 0.05, '2024-01-01', null), ('TF2', 'S2', 'USD', 0.03, '2024-01-01', null);
insert into royalties.payouts (payout_id, party_id, currency, amount_minor, requested_on, status, decided_by, note,
    paid_on, batch_id) values
    ('PO1', 'P1', 'EUR', 2000, '2024-07-01', 'paid', 'finance', null, '2024-07-03', 'payout|PO1'),
    ('PO2', 'P2', 'EUR', 500, '2024-07-05', 'requested', null, null, null, null);
"""


def history_sql() -> str:
    """The plays, their programmes, one posting batch per station and day (a receivable and a party credit per
    play) and P1's payout batch."""
    rows = [CATALOG]
    batches: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for play_id, station, track, day, programme in PLAYS:
        seconds = DURATION[track]
        rows.append(
            "insert into airplay.playlogs (play_id, station_id, track_id, play_date, start_utc, end_utc, duration_s, "
            f"confidence) values ('{play_id}', '{station}', '{track}', '{day}', '{day} 10:00:00', "
            f"'{day} 10:00:00'::timestamp + interval '{seconds} seconds', {seconds}, 0.95);"
        )
        if programme:
            rows.append(
                "insert into airplay.play_programs (play_id, station_id, play_date, program_id, program_name, "
                f"attribution) values ('{play_id}', '{station}', '{day}', '{programme[0]}', '{programme[1]}', "
                "'schedule');"
            )
        if play_id not in UNPOSTED:
            batches[f"{station}|{day}|{RATE[station][2]}|r1"].append((play_id, track, seconds * RATE[station][1]))
    for batch_id, plays in batches.items():
        station, day, tariff, _ = batch_id.split("|")
        currency = RATE[station][0]
        posted = f"'{day}', '{day[:7]}', '{day} 23:00:00'"
        rows.append(
            "insert into royalties.ledger_batches (batch_id, batch_kind, station_id, posted_for, accounting_period, "
            "tariff_id, revision, reason, lines, debit_minor, currency, posted_at) values "
            f"('{batch_id}', 'posting', '{station}', '{day}', '{day[:7]}', '{tariff}', 1, 'first posting', "
            f"{2 * len(plays)}, {sum(amount for *_, amount in plays)}, '{currency}', '{day} 23:00:00');"
        )
        for n, (play_id, track, amount) in enumerate(plays):
            play = f"{posted}, '{station}', '{play_id}', '{track}'"
            receivable = f"('{batch_id}', {2 * n + 1}, 'posting', {play}, 'station_receivable', null, {amount}"
            credit = f"('{batch_id}', {2 * n + 2}, 'posting', {play}, 'party_payable', '{PARTY[track]}', {-amount}"
            rows.append(f"{LINE} {receivable}, '{currency}', '{tariff}'), {credit}, '{currency}', '{tariff}');")
    rows.append(
        """insert into royalties.ledger_batches (batch_id, batch_kind, station_id, posted_for, accounting_period,
            revision, reason, lines, debit_minor, currency, posted_at) values
            ('payout|PO1', 'payout', null, '2024-07-03', '2024-07', 1, 'payout PO1 approved by finance', 2, 2000,
             'EUR', '2024-07-03 12:00:00');
        insert into royalties.royalty_ledger (batch_id, line_no, entry_kind, posted_for, accounting_period,
            posted_at, account, party_id, amount_minor, currency) values
            ('payout|PO1', 1, 'payout', '2024-07-03', '2024-07', '2024-07-03 12:00:00', 'party_payable', 'P1', 2000,
             'EUR'),
            ('payout|PO1', 2, 'payout', '2024-07-03', '2024-07', '2024-07-03 12:00:00', 'cash', null, -2000, 'EUR');"""
    )
    return "\n".join(rows)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    """The analytics marts and their lineage built (with their tests) on the history; yields (warehouse, target)."""
    tmp = tmp_path_factory.mktemp("analytics")
    warehouse = tmp / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute(source_ddl())
        con.execute(history_sql())
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DBT_TARGET", "duckdb")
        mp.setenv("BACKBEAT_DUCKDB_PATH", str(warehouse))
        # what the marts read, then the marts' own tests (not every upstream test: the other marts are not built)
        result = run_dbt(["run", *ANALYTICS], tmp / "target")
        assert result.success, failed_nodes(result) or result.exception
        tests = run_dbt(["test", "--select", "path:models/marts/analytics", *CAUTIOUS], tmp / "target")
    assert tests.success and len(tests.result) >= 45, failed_nodes(tests) or tests.exception
    return warehouse, tmp / "target"


def board(warehouse: Path, mart: str, grain: str, period: str, entity: str) -> list[tuple]:
    """A period's leaderboard: (entity, plays, rank, previous rank, rank change, growth, currency, royalties)."""
    return query(
        warehouse,
        f"""select {entity}, play_count, play_rank, previous_play_rank, rank_change, play_growth, royalty_currency,
                royalties_minor
            from analytics.{mart} where grain = '{grain}' and period_start = '{period}'
            order by play_rank, {entity}""",
    )


def test_weekly_track_leaderboard_ranks_climbs_and_growth(built):
    warehouse, _ = built
    assert board(warehouse, "fct_leaderboard_tracks", "week", "2024-06-17", "track_id") == [
        ("T1", 3, 1, None, None, None, "MIXED", None),  # 2 x 1000 EUR on S1 and 600 USD on S2
        ("T2", 2, 2, None, None, None, "EUR", 1500),
        ("T3", 1, 3, None, None, None, "EUR", 500),
    ]
    assert board(warehouse, "fct_leaderboard_tracks", "week", "2024-06-24", "track_id") == [
        ("T2", 4, 1, 2, 1, Decimal("1.0000"), "EUR", 3000),
        ("T1", 2, 2, 1, -1, Decimal("-0.3333"), "EUR", 2000),
        ("T3", 1, 3, 3, 0, Decimal("0.0000"), "USD", 300),
    ]
    assert board(warehouse, "fct_leaderboard_tracks", "week", "2024-07-01", "track_id") == [
        ("T3", 3, 1, 3, 2, Decimal("2.0000"), "EUR", 1000),  # the 2024-07-03 play is not posted yet
        ("T1", 1, 2, 2, 0, Decimal("-0.5000"), "EUR", 1000),
    ]
    assert query(
        warehouse,
        """select period_end, is_partial_period, posted_play_count, track_title, artist_name
           from analytics.fct_leaderboard_tracks where grain = 'week' and period_start = '2024-07-01'
           and track_id = 'T3'""",
    ) == [(date(2024, 7, 7), True, 2, "B-Side", "The Loops")]


def test_daily_and_monthly_track_leaderboards(built):
    warehouse, _ = built
    # equal plays: more airtime ranks first; the day before had no plays, so both are new entries
    assert board(warehouse, "fct_leaderboard_tracks", "day", "2024-06-24", "track_id") == [
        ("T1", 1, 1, None, None, None, "EUR", 1000),
        ("T2", 1, 2, None, None, None, "EUR", 750),
    ]
    assert board(warehouse, "fct_leaderboard_tracks", "day", "2024-06-25", "track_id") == [
        ("T1", 1, 1, 1, 0, Decimal("0.0000"), "EUR", 1000)
    ]
    assert board(warehouse, "fct_leaderboard_tracks", "month", "2024-06-01", "track_id") == [
        ("T2", 6, 1, None, None, None, "EUR", 4500),
        ("T1", 5, 2, None, None, None, "MIXED", None),
        ("T3", 2, 3, None, None, None, "MIXED", None),
    ]
    assert board(warehouse, "fct_leaderboard_tracks", "month", "2024-07-01", "track_id") == [
        ("T3", 3, 1, 3, 2, Decimal("0.5000"), "EUR", 1000),
        ("T1", 1, 2, 2, 0, Decimal("-0.8000"), "EUR", 1000),
    ]
    assert query(
        warehouse,
        """select grain, period_end, is_partial_period from analytics.fct_leaderboard_tracks
           where track_id = 'T1' and period_start = '2024-06-01'""",
    ) == [("month", date(2024, 6, 30), False)]


def test_artist_station_and_programme_leaderboards(built):
    warehouse, _ = built
    # week 1: a tie on plays (3 each), broken by airtime (600 s against 400 s)
    assert board(warehouse, "fct_leaderboard_artists", "week", "2024-06-17", "artist_id") == [
        ("A1", 3, 1, None, None, None, "MIXED", None),
        ("A2", 3, 2, None, None, None, "EUR", 2000),
    ]
    assert board(warehouse, "fct_leaderboard_artists", "week", "2024-06-24", "artist_id") == [
        ("A2", 5, 1, 2, 1, Decimal("0.6667"), "MIXED", None),
        ("A1", 2, 2, 1, -1, Decimal("-0.3333"), "EUR", 2000),
    ]
    assert board(warehouse, "fct_leaderboard_stations", "week", "2024-06-24", "station_id") == [
        ("S1", 6, 1, 1, 0, Decimal("0.2000"), "EUR", 5000),
        ("S2", 1, 2, 2, 0, Decimal("0.0000"), "USD", 300),
    ]
    assert query(
        warehouse,
        """select station_id, program_id, program_name, play_count, airplay_seconds, play_rank, rank_change,
                  is_new_entry, play_growth
           from analytics.fct_leaderboard_programs where grain = 'week' and period_start = '2024-06-24'
           order by play_rank""",
    ) == [
        ("S1", "UNSCHEDULED", "Unscheduled", 3, 550, 1, 0, False, Decimal("-0.4000")),
        ("S1", "DRIVE", "Drive Time", 3, 450, 2, None, True, None),
        ("S2", "UNSCHEDULED", "Unscheduled", 1, 100, 3, -1, False, Decimal("0.0000")),
    ]


def test_payouts_and_monthly_party_royalties(built):
    warehouse, _ = built
    assert query(
        warehouse,
        """select payout_id, party_name, status, is_paid, requested_period, paid_period, days_to_pay, posted_minor
           from analytics.fct_payouts order by payout_id""",
    ) == [
        ("PO1", "Ada Writer", "paid", True, "2024-07", "2024-07", 2, 2000),
        ("PO2", "Pub Co", "requested", False, "2024-07", None, None, None),
    ]
    assert query(
        warehouse,
        """select accounting_period, party_id, currency, earnings_minor, payouts_minor, play_count, earnings_rank,
                  previous_earnings_minor, earnings_growth
           from analytics.fct_party_royalties_monthly order by accounting_period, currency, party_id""",
    ) == [
        ("2024-06", "P1", "EUR", 4000, 0, 4, 2, None, None),
        ("2024-06", "P2", "EUR", 5000, 0, 7, 1, None, None),
        ("2024-06", "P1", "USD", 600, 0, 1, 1, None, None),
        ("2024-06", "P2", "USD", 300, 0, 1, 2, None, None),
        ("2024-07", "P1", "EUR", 1000, 2000, 1, 1, 4000, Decimal("-0.7500")),  # a tie: both rank 1
        ("2024-07", "P2", "EUR", 1000, 0, 2, 1, 5000, Decimal("-0.8000")),
    ]


def test_every_play_counts_once_per_grain(built):
    """Each grain of each leaderboard adds up to the 17 plays and their 2600 s: no play lost or counted twice."""
    warehouse, _ = built
    for mart in LEADERBOARDS:
        totals = query(
            warehouse,
            f"select grain, sum(play_count), sum(airplay_seconds) from analytics.{mart} group by grain order by grain",
        )
        assert totals == [(grain, 17, 2600) for grain in ("day", "month", "week")], mart


def test_semantic_models_metrics_and_exposures(built):
    _, target = built
    manifest = json.loads((target / "manifest.json").read_text())
    semantic = {s["name"]: s for s in manifest["semantic_models"].values()}
    assert {
        "track_leaderboard",
        "artist_leaderboard",
        "station_leaderboard",
        "program_leaderboard",
        "payouts",
        "party_royalties_monthly",
    } <= set(semantic)
    metrics = {m["name"]: m for m in manifest["metrics"].values()}
    growth = metrics["track_plays_wow_growth"]
    assert growth["type"] == "derived"
    assert [(m["name"], m.get("offset_window")) for m in growth["type_params"]["metrics"]][1][0] == "track_plays"
    assert "'day'" in metrics["station_plays"]["filter"]["where_filters"][0]["where_sql_template"]
    assert {"paid_payouts_minor", "party_monthly_earnings_minor", "program_best_rank"} <= set(metrics)
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    from assets.exports.assets import FINANCE_MARTS

    finance = {n.rsplit(".", 1)[-1] for n in exposures["finance_export"]["depends_on"]["nodes"]}
    assert finance == set(FINANCE_MARTS)  # the exposure follows what the export reads
    notebook = {n.rsplit(".", 1)[-1] for n in exposures["finance_notebook"]["depends_on"]["nodes"]}
    assert set(LEADERBOARDS) <= notebook
    monthly = exposures["monthly_finance_export"]["depends_on"]["nodes"]
    assert "source.backbeat.royalties.royalty_ledger" in monthly
