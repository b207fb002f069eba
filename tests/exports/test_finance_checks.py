"""The finance exports are staged, validated by a blocking Great Expectations check, and only then published."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import duckdb
import polars as pl
import pytest
from dagster import AssetKey, materialize

from assets.common.paths import DataDirResource
from assets.exports.assets import (
    FINANCE_MARTS,
    finance_export,
    finance_export_meets_expectations,
    finance_lineage,
    staged_finance_export,
)
from assets.exports.monthly import (
    monthly_finance_export,
    monthly_finance_export_is_complete,
    monthly_finance_export_meets_expectations,
    staged_monthly_finance_export,
)
from assets.royalties.statements import party_statements
from backbeat.airplay.tables import PLAYLOGS
from backbeat.exports.expectations import FINANCE_SUITE, MONTHLY_SUITE, TableSuite, validate_tables
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.tables import LEDGER
from integrations.warehouse import Warehouse, WarehouseResource

ROOT = Path(__file__).resolve().parents[2]
DAILY = [staged_finance_export, finance_export_meets_expectations, finance_export]
PUBLISHED = AssetKey(["exports", "finance_export"])
STAGED = AssetKey(["exports", "staged_finance_export"])

MARTS_SQL = """
CREATE SCHEMA IF NOT EXISTS analytics;
CREATE OR REPLACE TABLE analytics.fct_ledger_lines AS SELECT * FROM (VALUES
  ('b1', 1, 'station_receivable', NULL, CAST(1000 AS BIGINT), 'EUR', DATE '2026-11-02'),
  ('b1', 2, 'party_payable', 'A', CAST(-700 AS BIGINT), 'EUR', DATE '2026-11-02'),
  ('b1', 3, 'party_payable', 'B', CAST(-300 AS BIGINT), 'EUR', DATE '2026-11-02'))
  t(batch_id, line_no, account, party_id, amount_minor, currency, posted_for);
CREATE OR REPLACE TABLE analytics.fct_ledger_batches AS SELECT * FROM (VALUES
  ('b1', 'EUR', CAST(1000 AS BIGINT), CAST(-1000 AS BIGINT), CAST(0 AS BIGINT)))
  t(batch_id, currency, debit_minor, credit_minor, balance_minor);
CREATE OR REPLACE TABLE analytics.fct_party_royalties_daily AS SELECT * FROM (VALUES
  ('A', 'EUR', CAST(700 AS BIGINT)), ('B', 'EUR', CAST(300 AS BIGINT))) t(party_id, currency, amount_minor);
CREATE OR REPLACE TABLE analytics.fct_plays AS SELECT * FROM (VALUES ('P1', 'R1')) t(play_id, track_id);
CREATE OR REPLACE TABLE analytics.fct_daily_airplay AS SELECT * FROM (VALUES
  ('s1', 'R1', DATE '2026-11-02', 1)) t(station_id, track_id, play_date, plays);
""" + "".join(
    f"""CREATE OR REPLACE TABLE analytics.fct_leaderboard_{entity} AS SELECT * FROM (VALUES
  ('day|2026-11-02|x', 'day', DATE '2026-11-02', CAST(1 AS BIGINT), CAST(1 AS BIGINT)))
  t(leaderboard_id, grain, period_start, play_count, play_rank);
"""
    for entity in ("tracks", "artists", "stations", "programs")
)


@pytest.fixture
def daily(tmp_path) -> tuple[Path, dict]:
    """A DuckDB warehouse holding small, valid finance marts, and the resources to export them."""
    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(MARTS_SQL)
    for name in sorted(set(finance_lineage()) - set(FINANCE_MARTS)):  # the dbt models the marts are built from
        con.execute(f"CREATE OR REPLACE VIEW analytics.{name} AS SELECT 1 AS stand_in")
    con.close()
    data_dir = tmp_path / "data"
    return data_dir, {"warehouse": WarehouseResource(url=url), "data_dir": DataDirResource(data_dir=str(data_dir))}


def warehouse_sql(tmp_path: Path, sql: str) -> None:
    con = duckdb.connect(str(tmp_path / "warehouse.duckdb"))
    con.execute(sql)
    con.close()


def published_batches(data_dir: Path) -> list[tuple]:
    path = data_dir / "exports" / "finance" / "parquet" / "fct_ledger_batches.parquet"
    return pl.read_parquet(path).select("batch_id", "balance_minor").rows()


def test_a_valid_export_is_staged_checked_and_published(daily):
    data_dir, resources = daily
    result = materialize(DAILY, resources=resources)
    assert result.success
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed, check.asset_key) == ("finance_export_meets_expectations", True, STAGED)
    assert check.metadata["expectations_evaluated"].value == 56  # 10 + 8 + 4 + 2 + 4, and 7 on each leaderboard
    assert check.metadata["expectations_failed"].value == 0
    published = data_dir / "exports" / "finance"
    assert sorted(p.name for p in (published / "parquet").iterdir()) == sorted(
        f"{name}.parquet" for name in FINANCE_SUITE
    )
    con = duckdb.connect(str(published / "finance.duckdb"), read_only=True)
    try:
        assert con.execute("SELECT sum(amount_minor), count(*) FROM fct_ledger_lines").fetchone() == (0, 3)
    finally:
        con.close()
    assert not (data_dir / "exports" / ".staging" / result.run_id).exists()
    [materialization] = [m for m in result.get_asset_materialization_events() if m.asset_key == PUBLISHED]
    assert materialization.materialization.metadata["rows/fct_ledger_lines"].value == 3


def test_a_failing_expectation_stops_the_export_from_being_published(daily, tmp_path):
    data_dir, resources = daily
    assert materialize(DAILY, resources=resources).success
    assert published_batches(data_dir) == [("b1", 0)]

    # An unbalanced batch, money as floats and an unknown account reach the marts.
    warehouse_sql(
        tmp_path,
        """
        UPDATE analytics.fct_ledger_batches SET balance_minor = 5;
        CREATE OR REPLACE TABLE analytics.fct_party_royalties_daily AS
          SELECT party_id, currency, CAST(amount_minor AS DOUBLE) AS amount_minor
          FROM analytics.fct_party_royalties_daily;
        UPDATE analytics.fct_ledger_lines SET account = 'petty_cash' WHERE line_no = 3;
    """,
    )
    result = materialize(DAILY, resources=resources, raise_on_error=False)
    assert not result.success
    [check] = result.get_asset_check_evaluations()
    assert check.passed is False
    failures = check.metadata["failures"].value
    assert "fct_ledger_batches: expect_column_values_to_be_between(balance_minor) failed, 1 unexpected" in failures
    assert "fct_party_royalties_daily: expect_column_values_to_be_of_type(amount_minor) failed" in failures
    assert "fct_ledger_lines: expect_column_values_to_be_in_set(account) failed, 1 unexpected" in failures
    assert check.metadata["expectations_failed"].value == 3

    materialized = {m.asset_key for m in result.get_asset_materialization_events()}
    assert materialized == {STAGED}  # staged (and kept for inspection), never published
    assert published_batches(data_dir) == [("b1", 0)]  # finance still reads the last good export
    staged = data_dir / "exports" / ".staging" / result.run_id / "finance"
    assert pl.read_parquet(staged / "parquet" / "fct_ledger_batches.parquet")["balance_minor"].to_list() == [5]

    # Fixed upstream: the next run publishes and clears the failed staging.
    warehouse_sql(tmp_path, MARTS_SQL.replace("'b1', 'EUR', CAST(1000", "'b2', 'EUR', CAST(1000"))
    fixed = materialize(DAILY, resources=resources)
    assert fixed.success
    assert published_batches(data_dir) == [("b2", 0)]
    assert not staged.exists()


def test_publication_never_takes_files_another_run_staged(daily):
    data_dir, resources = daily
    failed = materialize(DAILY[:2], resources=resources)  # staged and checked, not published
    assert failed.success
    result = materialize([finance_export], resources=resources, raise_on_error=False)
    assert not result.success
    assert not (data_dir / "exports" / "finance").exists()
    assert (data_dir / "exports" / ".staging" / failed.run_id / "finance" / "finance.duckdb").exists()


# ---- The monthly export ---------------------------------------------------------------------------------------

MONTH, PERIOD = "2026-09-01", "2026-09"
MONTHLY = [
    party_statements,
    staged_monthly_finance_export,
    monthly_finance_export_meets_expectations,
    monthly_finance_export,
    monthly_finance_export_is_complete,
]


def ledger_rows(play_id: str, party_id: str) -> pl.DataFrame:
    """A play's first posting on 2 September: the station debited 500, one party credited."""
    common = {
        "batch_id": f"s1|2026-09-02|t|{play_id}",
        "entry_kind": "posting",
        "posted_for": date(2026, 9, 2),
        "accounting_period": PERIOD,
        "station_id": "s1",
        "play_id": play_id,
        "recording_id": "R1",
        "currency": "EUR",
        "tariff_id": "t",
        "posted_at": datetime(2026, 9, 3),
    }
    return LEDGER.from_rows(
        [
            {**common, "line_no": 1, "account": "station_receivable", "party_id": None, "amount_minor": 500},
            {**common, "line_no": 2, "account": "party_payable", "party_id": party_id, "amount_minor": -500},
        ]
    )


def test_a_failing_expectation_stops_the_monthly_export_from_being_published(tmp_path, monkeypatch):
    db = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    db.replace(
        PLAYLOGS,
        PLAYLOGS.from_rows(
            [
                {
                    "play_id": p,
                    "station_id": "s1",
                    "track_id": "R1",
                    "play_date": date(2026, 9, 2),
                    "start_utc": datetime(2026, 9, 2, 8, m),
                    "end_utc": datetime(2026, 9, 2, 8, m + 3),
                    "duration_s": 180,
                    "confidence": 0.9,
                    "detection_count": 6,
                    "speed": 1.0,
                    "runner_up_track_id": None,
                    "runner_up_confidence": None,
                    "aired_start_utc": None,
                }
                for p, m in (("P1", 0), ("P2", 10))
            ]
        ),
    )
    append_lines(db, ledger_rows("P1", "A"))
    data_dir = tmp_path / "data"
    resources = {"warehouse": WarehouseResource(url=db.url), "data_dir": DataDirResource(data_dir=str(data_dir))}
    good = materialize(MONTHLY, resources=resources, partition_key=MONTH)
    assert good.success
    checks = {c.check_name: c.passed for c in good.get_asset_check_evaluations()}
    assert checks == {"monthly_finance_export_meets_expectations": True, "monthly_finance_export_is_complete": True}
    folder = data_dir / "exports" / "finance-monthly" / PERIOD
    assert pl.read_parquet(folder / "ledger_lines.parquet")["account"].to_list() == [
        "station_receivable",
        "party_payable",
    ]

    # A second play credits party B, and finance's suite now refuses any party but A (the warehouse's own
    # constraints already refuse most bad data, so the failure comes from a stricter suite).
    append_lines(db, ledger_rows("P2", "B"))
    strict = MONTHLY_SUITE["statement_lines"]
    monkeypatch.setitem(
        MONTHLY_SUITE,
        "statement_lines",
        TableSuite(
            not_null=strict.not_null, integer_money=strict.integer_money, allowed={**strict.allowed, "party_id": ("A",)}
        ),
    )
    bad = materialize(MONTHLY, resources=resources, partition_key=MONTH, raise_on_error=False)
    assert not bad.success
    checks = {c.check_name: c for c in bad.get_asset_check_evaluations()}
    assert set(checks) == {"monthly_finance_export_meets_expectations"}  # the completeness check never ran
    failed = checks["monthly_finance_export_meets_expectations"]
    assert failed.passed is False
    assert failed.metadata["failures"].value == (
        f"- {PERIOD} statement_lines: expect_column_values_to_be_in_set(party_id) failed, 1 unexpected value(s)"
    )
    materialized = {m.asset_key.to_user_string() for m in bad.get_asset_materialization_events()}
    assert "exports/monthly_finance_export" not in materialized
    assert "exports/staged_monthly_finance_export" in materialized
    assert pl.read_parquet(folder / "ledger_lines.parquet")["play_id"].to_list() == ["P1", "P1"]  # as before
    staged = data_dir / "exports" / ".staging" / bad.run_id / "finance-monthly" / PERIOD
    assert pl.read_parquet(staged / "ledger_lines.parquet")["play_id"].to_list() == ["P1", "P1", "P2", "P2"]


# ---- The suites, without Dagster ------------------------------------------------------------------------------


def test_suites_catch_duplicates_nulls_and_missing_tables():
    suite = {"t": TableSuite(not_null=("k",), unique=("k", "v")), "absent": TableSuite(not_null=("x",))}
    frame = pl.DataFrame({"k": ["a", "a", None], "v": [1, 1, 2]})
    outcome = validate_tables({"t": frame}, suite)
    assert not outcome.success
    assert outcome.failures == [
        "absent: table missing from the export",
        "t: expect_column_values_to_not_be_null(k) failed, 1 unexpected value(s)",
        "t: expect_compound_columns_to_be_unique(k, v) failed, 2 unexpected value(s)",
    ]
    assert validate_tables({"t": frame.drop_nulls().unique()}, {"t": suite["t"]}).success


def test_every_monthly_table_has_a_suite():
    from assets.exports.monthly import EXPORT_TABLES

    assert set(MONTHLY_SUITE) == set(EXPORT_TABLES)


def test_definitions_load_without_importing_great_expectations():
    code = "import sys, orchestration.definitions; print('great_expectations' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        env={**os.environ, "DAGSTER_HOME": str(ROOT / ".dagster_home")},
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "False"
