"""Closing a month: statements final and frozen, a later correction lands in the open month, reopening audited."""

from datetime import date, datetime

import polars as pl
import pytest
from click.testing import CliRunner

from backbeat.commands.royalties import royalties
from backbeat.royalties.periods import (
    PeriodError,
    close_period,
    late_lines,
    period_events,
    period_overview,
    reopen_period,
    reporting_period,
    reporting_period_expr,
    statement_documents,
)
from backbeat.royalties.statement_pdf import render_pdf
from backbeat.royalties.statement_people import to_csv
from backbeat.royalties.tables import FROZEN_STATEMENTS, PARTY_STATEMENTS

NOV = date(2026, 11, 10)
POSTED = datetime(2026, 11, 11, 2)
CLOSED = datetime(2026, 12, 1, 9)
UPHELD = datetime(2026, 12, 3, 14)


def november(world) -> None:
    """Three plays on s1 in November (T1 twice: split A/B/C; T2: no split, suspense), posted the next night."""
    world.plays("s1", NOV, [("n1", "T1", 181), ("n2", "T2", 95), ("n3", "T1", 200)])
    world.post(("s1", NOV), booked_at=POSTED)


def test_reporting_period_is_the_first_open_month():
    closed = {"2026-10", "2026-11"}
    assert reporting_period("2026-11", closed) == "2026-12"
    assert reporting_period("2026-10", closed) == "2026-12"
    assert reporting_period("2026-12", closed) == "2026-12"
    assert reporting_period("2026-11", set()) == "2026-11"
    frame = pl.DataFrame({"p": ["2026-10", "2026-12", "2027-01"]})
    assert frame.select(reporting_period_expr(pl.col("p"), closed))["p"].to_list() == ["2026-12", "2026-12", "2027-01"]


def test_a_dispute_upheld_after_the_close_changes_december_not_november(world):
    db = world.db
    november(world)
    provisional = statement_documents(db, "2026-11", "A")
    assert [d.status for d in provisional] == ["provisional"]

    closed = close_period(db, "2026-11", "controller", CLOSED)
    assert closed.state.version == 1 and closed.state.closed_by == "controller"
    with pytest.raises(PeriodError, match="already closed"):
        close_period(db, "2026-11", "controller", CLOSED)
    with pytest.raises(PeriodError, match="not over"):
        close_period(db, "2026-12", "controller", datetime(2026, 12, 20))
    before = statement_documents(db, "2026-11", "A")
    assert before[0].status == "final" and before[0].closed_by == "controller"
    assert {t.recording_id: t.plays for t in before[0].tracks} == {"T1": 2}
    pdf_before, csv_before = render_pdf(before), to_csv(before)
    totals_before = db.read(PARTY_STATEMENTS, "period = ?", ["2026-11"]).sort("party_id")
    assert set(totals_before["status"]) == {"final"}

    # The dispute of n1 is upheld on 3 December: the ledger reverses November's batch and re-posts it without n1.
    world.dispute("D1", "n1", "s1", NOV, "resolved", "upheld")
    summary = world.post(("s1", NOV), booked_at=UPHELD, reason="dispute D1 upheld")
    assert summary.batches_reversed == 1 and summary.balance_minor == {"EUR": 0}

    after = statement_documents(db, "2026-11", "A")
    assert render_pdf(after) == pdf_before and to_csv(after) == csv_before
    assert db.read(PARTY_STATEMENTS, "period = ?", ["2026-11"]).sort("party_id").equals(totals_before)

    december = statement_documents(db, "2026-12", "A")[0]
    assert december.status == "provisional"
    assert december.opening_minor == before[0].closing_minor
    [adjustment] = december.adjustments
    assert (adjustment.corrects_period, adjustment.play_ids, adjustment.recording_id) == ("2026-11", ["n1"], "T1")
    assert adjustment.amount_minor < 0 and "dispute D1 upheld" in adjustment.reason
    assert december.earnings_minor == 0 and december.adjustments_minor == adjustment.amount_minor
    assert december.closing_minor == before[0].closing_minor + adjustment.amount_minor
    assert 0 < -adjustment.amount_minor < before[0].earnings_minor  # A's share of n1 only

    # December closes on top of November (its openings are November's frozen closings); reopening is audited and
    # only the latest closed month can be reopened.
    assert close_period(db, "2026-12", "controller", datetime(2027, 1, 2, 9)).state.version == 1
    with pytest.raises(PeriodError, match="later closed months first: 2026-12"):
        reopen_period(db, "2026-11", "controller", "typo", datetime(2027, 1, 3))
    with pytest.raises(PeriodError, match="why"):
        reopen_period(db, "2026-12", "controller", " ", datetime(2027, 1, 3))
    reopened = reopen_period(db, "2026-12", "cfo", "late tariff correction", datetime(2027, 1, 3))
    assert reopened.status == "open" and reopened.reopened_by == "cfo"
    assert statement_documents(db, "2026-12", "A")[0].status == "provisional"
    assert set(db.read(PARTY_STATEMENTS, "period = ?", ["2026-12"])["status"]) == {"provisional"}
    again = close_period(db, "2026-12", "controller", datetime(2027, 1, 4))
    assert again.state.version == 2
    assert db.read(FROZEN_STATEMENTS, "period = ?", ["2026-12"])["version"].unique().sort().to_list() == [1, 2]
    events = period_events(db).select("period", "seq", "action", "actor", "reason").rows()
    assert events == [
        ("2026-11", 1, "close", "controller", None),
        ("2026-12", 1, "close", "controller", None),
        ("2026-12", 2, "reopen", "cfo", "late tariff correction"),
        ("2026-12", 3, "close", "controller", None),
    ]
    assert [(s.period, s.status) for s in period_overview(db)] == [("2026-11", "closed"), ("2026-12", "closed")]


def test_a_month_closes_only_after_the_earlier_months_with_lines(duckdb_world):
    world = duckdb_world
    november(world)
    world.plays("s1", date(2026, 12, 5), [("d1", "T1", 120)])
    world.post(("s1", date(2026, 12, 5)), booked_at=datetime(2026, 12, 6))
    with pytest.raises(PeriodError, match="earlier months first: 2026-11"):
        close_period(world.db, "2026-12", "controller", datetime(2027, 1, 2))
    with pytest.raises(PeriodError, match="YYYY-MM"):
        close_period(world.db, "2026-13", "controller", datetime(2027, 1, 2))
    with pytest.raises(PeriodError, match="not closed"):
        reopen_period(world.db, "2026-11", "cfo", "why not", datetime(2027, 1, 2))


def test_period_and_statement_commands(duckdb_world, tmp_path, monkeypatch):
    world = duckdb_world
    november(world)
    monkeypatch.setenv("BACKBEAT_WAREHOUSE_URL", world.db.url)
    runner = CliRunner()

    def run(*args: str) -> str:
        result = runner.invoke(royalties, ["--data-dir", str(tmp_path), *args], catch_exceptions=False)
        assert result.exit_code == 0, result.output
        return result.output

    assert "2026-11  open    provisional" in run("period", "status")
    out = run("statement", "--party", "A", "--period", "2026-11", "--pdf", str(tmp_path / "a.pdf"))
    assert "provisional" in out and (tmp_path / "a.pdf").read_bytes().startswith(b"%PDF")
    assert "closed by controller" in run(
        "period", "close", "2026-11", "--by", "controller", "--at", "2026-12-01T09:00Z"
    )
    refused = runner.invoke(royalties, ["--data-dir", str(tmp_path), "period", "close", "2026-11", "--by", "x"])
    assert refused.exit_code == 1 and "already closed" in refused.output
    run("statement", "--party", "A", "--period", "2026-11", "--csv", str(tmp_path / "a.csv"))
    csv_text = (tmp_path / "a.csv").read_text()
    assert csv_text.splitlines()[1].startswith("2026-11,final,A,")
    status = run("period", "status", "--events")
    assert "2026-11  closed  final, closed by controller at 2026-12-01 09:00 UTC (v1)" in status
    assert "2026-11 #1 close by controller" in status
    assert "reopened by cfo" in run(
        "period", "reopen", "2026-11", "--by", "cfo", "--reason", "split sheet corrected", "--at", "2026-12-02T10:00Z"
    )
    missing = runner.invoke(
        royalties, ["--data-dir", str(tmp_path), "statement", "--party", "Z", "--period", "2026-11"]
    )
    assert missing.exit_code == 1 and "no statement for party Z" in missing.output


def test_plays_of_a_closed_month_posted_late_are_adjustments_of_the_open_month(duckdb_world):
    world, late_day = duckdb_world, date(2026, 11, 30)
    november(world)
    close_period(world.db, "2026-11", "controller", CLOSED)
    frozen = to_csv(statement_documents(world.db, "2026-11"))
    world.plays("s1", late_day, [("late1", "T1", 100)])
    world.post(("s1", late_day), booked_at=datetime(2026, 12, 2, 2))
    assert to_csv(statement_documents(world.db, "2026-11")) == frozen
    with world.db.connect() as conn:
        assert late_lines(conn, "2026-11") == 0
    december = statement_documents(world.db, "2026-12", "A")[0]
    [adjustment] = december.adjustments
    assert (adjustment.corrects_period, adjustment.play_ids) == ("2026-11", ["late1"]) and adjustment.amount_minor > 0
    assert december.earnings_minor == 0 and december.closing_minor == december.opening_minor + adjustment.amount_minor
    assert close_period(world.db, "2026-12", "controller", datetime(2027, 1, 2)).state.version == 1
