"""Monthly party statements from hand-built ledger lines, and the statements asset on DuckDB and PostgreSQL."""

from datetime import date, datetime

import polars as pl
import pytest
from dagster import materialize

from assets.common.paths import DataDirResource
from assets.royalties.disputes import disputes
from assets.royalties.statements import (
    party_statements,
    party_statements_add_up,
    party_statements_carry_forward,
)
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.statements import (
    carry_forward_breaks,
    movements_add_up,
    next_period,
    periods_between,
    previous_period,
    statements_from_lines,
)
from backbeat.royalties.tables import LEDGER, PARTY_STATEMENTS, RESTATEMENT_QUEUE, STATEMENT_LINES
from integrations.warehouse import Warehouse, WarehouseResource

POSTED_AT = datetime(2026, 10, 1, 3)
TARIFF = "s1:2026-01-01"


def batch(batch_id: str, kind: str, period: str, day: date, *lines: tuple) -> list[dict]:
    """Ledger lines of one batch; each line is (account, party, amount, play, recording, station)."""
    return [
        {
            "batch_id": batch_id,
            "line_no": i,
            "entry_kind": kind,
            "posted_for": day,
            "accounting_period": period,
            "station_id": station,
            "play_id": play,
            "recording_id": recording,
            "account": account,
            "party_id": party,
            "amount_minor": amount,
            "currency": "EUR",
            "tariff_id": TARIFF if play else None,
            "posted_at": POSTED_AT,
        }
        for i, (account, party, amount, play, recording, station) in enumerate(lines, start=1)
    ]


def play(play_id: str, recording: str, station: str, amount: int, *credits: tuple[str, str, int]) -> list[tuple]:
    """A play's debit and its credits: (account, party, amount)."""
    return [
        ("station_receivable", None, amount, play_id, recording, station),
        *((account, party, credit, play_id, recording, station) for account, party, credit in credits),
    ]


AUG, SEP = date(2026, 8, 5), date(2026, 9, 3)
LINES = LEDGER.from_rows(
    [
        # August: P1 on s1 shared 60/40, P2 on s2 all to A, P3 disputed: A's credit in hold.
        *batch(
            "s1|2026-08-05|t|r1",
            "posting",
            "2026-08",
            AUG,
            *play("P1", "R1", "s1", 1000, ("party_payable", "A", -600), ("party_payable", "B", -400)),
            *play("P3", "R1", "s1", 300, ("hold", "A", -300)),
        ),
        *batch(
            "s2|2026-08-05|t|r1", "posting", "2026-08", AUG, *play("P2", "R2", "s2", 500, ("party_payable", "A", -500))
        ),
        # September: the dispute is rejected, so the s1 batch is reversed and re-posted with P3 paid to A; a split
        # correction moves 100 of P1 from B to A; a new play P4; and A is paid 1000.
        *batch(
            "s1|2026-08-05|t|r1|reversal",
            "reversal",
            "2026-09",
            AUG,
            *play("P1", "R1", "s1", -1000, ("party_payable", "A", 600), ("party_payable", "B", 400)),
            *play("P3", "R1", "s1", -300, ("hold", "A", 300)),
        ),
        *batch(
            "s1|2026-08-05|t|r2",
            "posting",
            "2026-09",
            AUG,
            *play("P1", "R1", "s1", 1000, ("party_payable", "A", -700), ("party_payable", "B", -300)),
            *play("P3", "R1", "s1", 300, ("party_payable", "A", -300)),
        ),
        *batch(
            "s1|2026-09-03|t|r1", "posting", "2026-09", SEP, *play("P4", "R1", "s1", 200, ("party_payable", "A", -200))
        ),
        *batch(
            "payout|PO1",
            "payout",
            "2026-09",
            date(2026, 9, 20),
            ("party_payable", "A", 1000, None, None, None),
            ("cash", "A", -1000, None, None, None),
        ),
    ]
)

TOTALS = [
    "party_id",
    "opening_minor",
    "earnings_minor",
    "adjustments_minor",
    "payouts_minor",
    "closing_minor",
    "held_minor",
]


def test_every_ledger_batch_balances():
    assert LINES.group_by("batch_id").agg(pl.col("amount_minor").sum())["amount_minor"].to_list() == [0] * 6


def test_first_month_earnings_and_credits_held_for_a_disputed_play():
    result = statements_from_lines(LINES, "2026-08")
    assert result.statements.select(TOTALS).rows() == [
        ("A", 0, 1100, 0, 0, 1100, 300),
        ("B", 0, 400, 0, 0, 400, 0),
    ]
    assert result.lines.filter(pl.col("party_id") == "A").select(
        "line_type", "recording_id", "station_id", "plays", "amount_minor"
    ).rows() == [
        ("earnings", "R1", "s1", 1, 600),
        ("earnings", "R2", "s2", 1, 500),
    ]


def test_next_month_opening_adjustments_payouts_and_closing():
    result = statements_from_lines(LINES, "2026-09")
    assert result.statements.select(TOTALS).rows() == [
        # A: 1100 + P4 200 + (P1 +100, P3 released +300) − 1000 paid; nothing held any more.
        ("A", 1100, 200, 400, -1000, 700, 0),
        ("B", 400, 0, -100, 0, 300, 0),
    ]
    assert result.lines.filter(pl.col("party_id") == "A").select(
        "line_type", "recording_id", "station_id", "plays", "amount_minor"
    ).rows() == [
        ("adjustment", "R1", "s1", 2, 400),
        ("earnings", "R1", "s1", 1, 200),
        ("payout", None, None, 0, -1000),
    ]
    assert result.lines["period"].unique().to_list() == ["2026-09"]
    assert movements_add_up(result.statements, result.lines) == []


def test_closing_of_a_month_is_the_opening_of_the_next():
    months = ["2026-07", "2026-08", "2026-09", "2026-10"]
    results = {m: statements_from_lines(LINES, m) for m in months}
    assert results["2026-07"].statements.is_empty()  # no lines yet, no statements
    for month, following in zip(months[1:], months[2:], strict=False):
        closing = results[month].statements.select("party_id", "closing_minor").rows()
        opening = results[following].statements.select("party_id", "opening_minor").rows()
        assert closing == opening, (month, following)
    october = results["2026-10"].statements
    assert october.select(TOTALS).rows() == [("A", 700, 0, 0, 0, 700, 0), ("B", 300, 0, 0, 0, 300, 0)]
    all_months = pl.concat([r.statements for r in results.values()])
    assert carry_forward_breaks(all_months) == []
    broken = all_months.with_columns(
        opening_minor=pl.when((pl.col("period") == "2026-09") & (pl.col("party_id") == "B"))
        .then(1)
        .otherwise(pl.col("opening_minor"))
    )
    assert carry_forward_breaks(broken) == ["B EUR: closing 400 in 2026-08 != opening 1 in 2026-09"]


def test_statements_are_per_currency_and_never_floats():
    usd = LINES.filter(pl.col("batch_id") == "s2|2026-08-05|t|r1").with_columns(
        currency=pl.lit("USD"), batch_id=pl.lit("s9|2026-08-05|t|r1")
    )
    result = statements_from_lines(pl.concat([LINES, usd]), "2026-08")
    assert result.statements.select("party_id", "currency", "earnings_minor").rows() == [
        ("A", "EUR", 1100),
        ("A", "USD", 500),
        ("B", "EUR", 400),
    ]
    assert all(result.statements[c].dtype == pl.Int64 for c in TOTALS[1:])
    assert result.lines["amount_minor"].dtype == pl.Int64


def test_periods():
    assert next_period("2026-12") == "2027-01" and previous_period("2027-01") == "2026-12"
    assert periods_between(date(2026, 8, 1), date(2026, 11, 1)) == ["2026-08", "2026-09", "2026-10"]


# ---- the asset on DuckDB and PostgreSQL ------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    return Warehouse(request.getfixturevalue("postgres_server").create_database("royalties_statements"))


def test_statements_asset_writes_each_month_and_its_checks_pass(warehouse):
    db = warehouse
    append_lines(db, LINES)
    resources = {"warehouse": WarehouseResource(url=db.url)}
    selection = [party_statements, party_statements_add_up, party_statements_carry_forward]
    for month in ("2026-09-01", "2026-08-01", "2026-09-01"):  # out of order, and a re-run
        result = materialize(selection, resources=resources, partition_key=month)
        assert result.success
        checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        assert checks == {"party_statements_add_up": True, "party_statements_carry_forward": True}
    stored = db.read(PARTY_STATEMENTS).sort("period", "party_id")
    expected = pl.concat([statements_from_lines(LINES, m).statements for m in ("2026-08", "2026-09")])
    assert stored.rows() == expected.rows()
    lines = db.read(STATEMENT_LINES)
    assert lines.filter(pl.col("period") == "2026-09").height == 4  # replaced on re-run, not doubled
    statements, detail = result.asset_materializations_for_node("royalties__party_statements")
    assert [statements.asset_key.path, detail.asset_key.path] == [
        ["royalties", "party_statements"],
        ["royalties", "statement_lines"],
    ]
    assert statements.metadata["closing_minor_by_currency"].value == {"EUR": 1000}
    assert statements.metadata["dagster/row_count"].value == 2
    assert detail.metadata["dagster/row_count"].value == 4  # September's lines: the window of the last run

    # A broken carry-forward (e.g. August restated without re-running September) fails the check.
    with db.connect() as conn:
        conn.execute("UPDATE royalties.party_statements SET opening_minor = 0 WHERE period = '2026-09'")
    again = materialize(selection, resources=resources, partition_key="2026-08-01")
    checks = {c.check_name: c.passed for c in again.get_asset_check_evaluations()}
    assert checks == {"party_statements_add_up": True, "party_statements_carry_forward": False}


# ---- with the real ledger: a dispute holds, then releases, a play's credits -------------------------------

DAY = date(2026, 3, 2)  # the `world` fixture's plays (tests/royalties/conftest.py)


def test_a_dispute_moves_credits_to_hold_and_back_across_monthly_statements(world, tmp_path):
    """p1 (2.26 EUR, shared A 76 / B 75 / C 75) is disputed in April and the dispute rejected in May."""
    db = world.db
    resources = {"warehouse": WarehouseResource(url=db.url), "data_dir": DataDirResource(data_dir=str(tmp_path))}
    events = tmp_path / "inbox" / "royalties" / "disputes" / "D1.csv"
    events.parent.mkdir(parents=True)
    events.write_text(
        "dispute_id,play_id,status,resolution,actor,at,note\n"
        "D1,p1,pending,,artist-a,2026-04-01T09:00:00Z,not our song\n"
    )
    world.post(("s1", DAY), booked_at=datetime(2026, 3, 3, 2))
    assert materialize([disputes], resources=resources).success
    world.post(("s1", DAY), booked_at=datetime(2026, 4, 2, 2))
    with events.open("a") as handle:
        handle.writelines(
            f"D1,p1,{s},{'rejected' if s == 'resolved' else ''},analyst,2026-05-01T09:00:00Z,\n"
            for s in ("verified", "resolving", "review", "resolved")
        )
    assert materialize([disputes], resources=resources).success
    world.post(("s1", DAY), booked_at=datetime(2026, 5, 2, 2))
    assert db.read(RESTATEMENT_QUEUE).select("station_id", "play_date").rows() == [("s1", DAY)] * 2

    selection = [party_statements, party_statements_add_up, party_statements_carry_forward]
    for month in ("2026-03-01", "2026-04-01", "2026-05-01"):
        result = materialize(selection, resources=resources, partition_key=month)
        assert result.success and all(c.passed for c in result.get_asset_check_evaluations())
    stored = db.read(PARTY_STATEMENTS).sort("period", "party_id")
    assert stored.select("period", *TOTALS).rows() == [
        ("2026-03", "A", 0, 160, 0, 0, 160, 0),
        ("2026-03", "B", 0, 158, 0, 0, 158, 0),
        ("2026-03", "C", 0, 158, 0, 0, 158, 0),
        ("2026-04", "A", 160, 0, -76, 0, 84, 76),
        ("2026-04", "B", 158, 0, -75, 0, 83, 75),
        ("2026-04", "C", 158, 0, -75, 0, 83, 75),
        ("2026-05", "A", 84, 0, 76, 0, 160, 0),
        ("2026-05", "B", 83, 0, 75, 0, 158, 0),
        ("2026-05", "C", 83, 0, 75, 0, 158, 0),
    ]
    april = db.read(STATEMENT_LINES, "period = '2026-04' AND party_id = 'A'")
    assert april.select("line_type", "recording_id", "station_id", "plays", "amount_minor").rows() == [
        ("adjustment", "T1", "s1", 2, -76)
    ]  # p1 and p3 reversed and re-posted: p1's 76 now held
