"""The monthly finance export: one folder per month, Parquet and DuckDB agreeing, a README of every column."""

from datetime import date, datetime

import duckdb
import polars as pl
import pytest
from dagster import materialize

from assets.common.paths import DataDirResource
from assets.exports.monthly import (
    EXPORT_TABLES,
    export_problems,
    monthly_finance_export,
    monthly_finance_export_is_complete,
    monthly_finance_export_meets_expectations,
    readme_text,
    staged_monthly_finance_export,
)
from assets.royalties.statements import party_statements
from backbeat.airplay.tables import PLAYLOGS
from backbeat.royalties.ledger_chain import append_lines
from backbeat.royalties.tables import LEDGER, PARTY_STATEMENTS
from integrations.warehouse import Warehouse, WarehouseResource

MONTH, PERIOD = "2026-09-01", "2026-09"


def posting(play_id: str, day: date, amount: int, shares: dict[str, int]) -> list[dict]:
    """A play's first posting: the station debited, the parties credited (a balanced one-play batch)."""
    common = {
        "batch_id": f"s1|{day}|t-{play_id}|r1",
        "entry_kind": "posting",
        "posted_for": day,
        "accounting_period": f"{day:%Y-%m}",
        "station_id": "s1",
        "play_id": play_id,
        "recording_id": "R1",
        "currency": "EUR",
        "tariff_id": "t",
        "posted_at": datetime(2026, 10, 1),
    }
    lines = [{**common, "account": "station_receivable", "party_id": None, "amount_minor": amount}]
    lines += [{**common, "account": "party_payable", "party_id": p, "amount_minor": -a} for p, a in shares.items()]
    return [{**line, "line_no": i} for i, line in enumerate(lines, start=1)]


PLAYS = {"P1": date(2026, 8, 30), "P2": date(2026, 9, 2), "P3": date(2026, 9, 3)}
LINES = LEDGER.from_rows(
    [
        *posting("P1", PLAYS["P1"], 1000, {"A": 700, "B": 300}),
        *posting("P2", PLAYS["P2"], 500, {"A": 500}),
        *posting("P3", PLAYS["P3"], 301, {"A": 150, "B": 151}),
    ]
)


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request, tmp_path) -> Warehouse:
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    return Warehouse(request.getfixturevalue("postgres_server").create_database("royalties_monthly_export"))


def seed(db: Warehouse) -> None:
    append_lines(db, LINES)
    db.replace(
        PLAYLOGS,
        PLAYLOGS.from_rows(
            [
                {
                    "play_id": p,
                    "station_id": "s1",
                    "track_id": "R1",
                    "play_date": d,
                    "start_utc": datetime(d.year, d.month, d.day, 8),
                    "end_utc": datetime(d.year, d.month, d.day, 8, 3),
                    "duration_s": 180,
                    "confidence": 0.91,
                    "detection_count": 6,
                    "speed": 1.0,
                    "runner_up_track_id": None,
                    "runner_up_confidence": None,
                    "aired_start_utc": None,
                }
                for p, d in [*PLAYS.items(), ("P9", date(2026, 9, 4))]  # P9 was never posted: not exported
            ]
        ),
    )


def test_monthly_export_writes_parquet_duckdb_and_readme(warehouse, tmp_path):
    db = warehouse
    seed(db)
    data_dir = tmp_path / "data"
    resources = {"warehouse": WarehouseResource(url=db.url), "data_dir": DataDirResource(data_dir=str(data_dir))}
    for _ in range(2):  # a re-run replaces the month's folder whole
        result = materialize(
            [
                party_statements,
                staged_monthly_finance_export,
                monthly_finance_export_meets_expectations,
                monthly_finance_export,
                monthly_finance_export_is_complete,
            ],
            resources=resources,
            partition_key=MONTH,
        )
        assert result.success
        checks = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
        assert checks == {"monthly_finance_export_meets_expectations": True, "monthly_finance_export_is_complete": True}
    assert not (data_dir / "exports" / ".staging" / result.run_id).exists()  # published: the staging is gone
    root = data_dir / "exports" / "finance-monthly"
    folder = root / PERIOD
    assert sorted(p.name for p in root.iterdir()) == [PERIOD]  # no staging or previous folder left behind
    assert sorted(p.name for p in folder.iterdir()) == [
        "README.md",
        f"finance_{PERIOD}.duckdb",
        "ledger_lines.parquet",
        "parties.parquet",
        "party_statements.parquet",
        "payouts.parquet",
        "plays.parquet",
        "statement_lines.parquet",
        "stations.parquet",
        "tariffs.parquet",
    ]

    frames = {name: pl.read_parquet(folder / f"{name}.parquet") for name in EXPORT_TABLES}
    assert frames["ledger_lines"].height == 5  # the two September plays' lines, not August's
    assert frames["ledger_lines"]["amount_minor"].dtype == pl.Int64
    assert frames["ledger_lines"]["amount_minor"].sum() == 0
    assert sorted(frames["plays"]["play_id"].to_list()) == ["P2", "P3"]
    assert frames["party_statements"].select("party_id", "opening_minor", "earnings_minor", "closing_minor").rows() == [
        ("A", 700, 650, 1350),
        ("B", 300, 151, 451),
    ]
    assert frames["party_statements"].rows() == db.read(PARTY_STATEMENTS, "period = ?", [PERIOD]).rows()
    assert set(frames["stations"]["station_id"]) <= set(frames["ledger_lines"]["station_id"])  # names of the month's
    assert set(frames["parties"]["party_id"]) <= set(frames["party_statements"]["party_id"]) | set(
        frames["payouts"]["party_id"]
    )
    con = duckdb.connect(str(folder / f"finance_{PERIOD}.duckdb"), read_only=True)
    try:
        for name, frame in frames.items():
            assert con.execute(f"SELECT count(*) FROM {name}").fetchone()[0] == frame.height, name
        assert con.execute("SELECT typeof(amount_minor) FROM statement_lines LIMIT 1").fetchone()[0] == "BIGINT"
    finally:
        con.close()

    readme = (folder / "README.md").read_text()
    for name, (table, _) in EXPORT_TABLES.items():
        assert f"## `{name}.parquet`" in readme
        for column in table.columns:
            assert f"| `{column.name}` | {column.type} | {column.description} |" in readme
    assert export_problems(folder, PERIOD) == []
    (folder / "plays.parquet").unlink()
    assert export_problems(folder, PERIOD) == [f"{PERIOD}: missing plays.parquet"]

    metadata = result.asset_materializations_for_node("exports__monthly_finance_export")[0].metadata
    assert metadata["rows/ledger_lines"].value == 5
    assert metadata["ledger_balance_minor_by_currency"].value == {"EUR": 0}


def test_readme_is_generated_from_the_table_declarations():
    tables = {name: table.empty_frame() for name, (table, _) in EXPORT_TABLES.items()}
    text = readme_text(PERIOD, tables)
    assert text.startswith(f"# Finance export {PERIOD}")
    assert "| `amount_minor` | bigint | Signed amount in minor units: debit positive, credit negative. |" in text
    assert text.count("Rows: 0.") == len(EXPORT_TABLES) == 8
