"""The monthly finance export: a folder per month with the ledger lines, the statements and the plays behind them.

`data/exports/finance-monthly/YYYY-MM/` holds `ledger_lines.parquet`, `party_statements.parquet`,
`statement_lines.parquet`, `plays.parquet`, the same four tables in `finance_YYYY-MM.duckdb`, and a `README.md`
describing every column (generated from the warehouse table declarations, so it never drifts). The month is
written to a staging folder, validated by a blocking Great Expectations check, and only then swapped in whole.
Money stays in integer minor units beside its currency.
"""

from datetime import date
from pathlib import Path

import duckdb
import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.common.keys import (
    AIRPLAY_PLAYLOGS,
    EXPORTS_MONTHLY_FINANCE_EXPORT,
    EXPORTS_STAGED_MONTHLY_FINANCE_EXPORT,
    ROYALTIES_PARTY_STATEMENTS,
    ROYALTIES_ROYALTY_LEDGER,
)
from assets.common.partitions import monthly_partitions, range_backfill
from assets.common.paths import DataDirResource
from backbeat.airplay.tables import PLAYLOGS, STATIONS
from backbeat.exports.expectations import MONTHLY_SUITE, validate_tables
from backbeat.exports.finance import (
    clear_stale_staging,
    publish_staged,
    read_parquet_files,
    staging_dir,
    write_export,
)
from backbeat.rights.tables import PARTIES
from backbeat.royalties.ledger_chain import require_sound_ledger
from backbeat.royalties.recoupment import last_day
from backbeat.royalties.statements import periods_between
from backbeat.royalties.tables import LEDGER, PARTY_STATEMENTS, PAYOUTS, STATEMENT_LINES, TARIFFS
from integrations.warehouse import Table, Warehouse, WarehouseResource

MONTHLY_EXPORT_DIR = Path("finance-monthly")  # beside finance/, which the daily export replaces whole
"""Under the exports directory; one sub-folder per month, YYYY-MM."""

EXPORT_TABLES: dict[str, tuple[Table, str]] = {
    "ledger_lines": (LEDGER, "royalties.royalty_ledger: every line whose accounting_period is the month."),
    "party_statements": (PARTY_STATEMENTS, "royalties.party_statements: the month's statement totals."),
    "statement_lines": (STATEMENT_LINES, "royalties.statement_lines: the month's statement detail."),
    "plays": (PLAYLOGS, "airplay.playlogs: the plays behind the month's ledger lines."),
    "tariffs": (TARIFFS, "royalties.tariffs: every rate in force on at least one day of the month."),
    "payouts": (PAYOUTS, "royalties.payouts: requests made or paid in the month, with what became of them."),
    "parties": (PARTIES, "rights.parties: the names of the parties in the month's statements and payouts."),
    "stations": (STATIONS, "airplay.stations: the names of the stations in the month's ledger lines."),
}


def monthly_tables(db: Warehouse, period: str) -> dict[str, pl.DataFrame]:
    """The month's export tables, typed as the warehouse declares them and sorted by their keys."""
    db.ensure(TARIFFS, PAYOUTS, PARTIES, STATIONS)
    ledger = db.read(LEDGER, "accounting_period = ?", [period]).sort("batch_id", "line_no")
    plays = db.read(
        PLAYLOGS, f"play_id IN (SELECT play_id FROM {LEDGER.qualified_name} WHERE accounting_period = ?)", [period]
    ).sort("play_id")
    first, last = date.fromisoformat(f"{period}-01"), last_day(period)
    payouts = db.read(
        PAYOUTS, "(requested_on BETWEEN ? AND ?) OR (paid_on BETWEEN ? AND ?)", [first, last, first, last]
    ).sort("payout_id")
    statements = db.read(PARTY_STATEMENTS, "period = ?", [period])
    party_ids = sorted(set(statements["party_id"].to_list()) | set(payouts["party_id"].to_list()))
    station_ids = sorted({s for s in ledger["station_id"].to_list() if s is not None})
    return {
        "ledger_lines": ledger,
        "party_statements": db.read(PARTY_STATEMENTS, "period = ?", [period]).sort("party_id", "currency"),
        "statement_lines": db.read(STATEMENT_LINES, "period = ?", [period]).sort(
            "party_id", "currency", "line_type", "recording_id", "station_id", nulls_last=True
        ),
        "plays": plays,
        "tariffs": db.read(
            TARIFFS, "effective_from <= ? AND (effective_to IS NULL OR effective_to > ?)", [last, first]
        ).sort("station_id", "effective_from"),
        "payouts": payouts,
        "parties": _rows_of(db, PARTIES, "party_id", party_ids),
        "stations": _rows_of(db, STATIONS, "station_id", station_ids),
    }


def _rows_of(db: Warehouse, table: Table, key: str, values: list[str]) -> pl.DataFrame:
    """`table`'s rows whose `key` is one of `values`, sorted by it (the names a month's figures refer to)."""
    if not values:
        return table.empty_frame()
    marks = ", ".join("?" for _ in values)
    return db.read(table, f"{key} IN ({marks})", values).sort(key)


def duckdb_name(period: str) -> str:
    return f"finance_{period}.duckdb"


def readme_text(period: str, tables: dict[str, pl.DataFrame]) -> str:
    """README.md of a month's export: each file's source, grain, row count and columns with their descriptions."""
    out = [
        f"# Finance export {period}",
        "",
        f"Royalty ledger lines reported in {period}, the party statements of the month and the plays behind the "
        "lines, the tariffs in force, the payouts, and the names of the parties and stations they refer to. Each "
        f"table is a Parquet file here and a table of the same name in `{duckdb_name(period)}`. "
        "Money is in integer minor units (`*_minor`) with its ISO 4217 currency beside it; timestamps are UTC. "
        "Statements of a month not yet closed are `provisional` (their `status`) and may change; a month closed "
        "with `backbeat royalties period close` is `final` and never changes.",
        "",
    ]
    for name, (table, source) in EXPORT_TABLES.items():
        out += [
            f"## `{name}.parquet`",
            "",
            f"{table.description} Source: {source} Rows: {tables[name].height}.",
            "",
            "| column | type | description |",
            "|---|---|---|",
        ]
        out += [f"| `{c.name}` | {c.type} | {c.description} |" for c in table.columns]
        out.append("")
    return "\n".join(out)


def write_monthly_export(tables: dict[str, pl.DataFrame], period: str, staging: Path) -> None:
    """The month's folder in `staging`: Parquet files, the DuckDB file and the README (finance.write_export's
    layout, flattened and renamed for the month)."""
    write_export(tables, staging)
    for path in (staging / "parquet").glob("*.parquet"):
        path.rename(staging / path.name)
    (staging / "parquet").rmdir()
    (staging / "finance.duckdb").rename(staging / duckdb_name(period))
    (staging / "README.md").write_text(readme_text(period, tables), encoding="utf-8")


def months_of(context: AssetExecutionContext | AssetCheckExecutionContext) -> list[str]:
    """The months of the run's partition window: one for a normal run, several for a range backfill."""
    window = context.partition_time_window
    return periods_between(window.start, window.end)


STAGED_KEY = EXPORTS_STAGED_MONTHLY_FINANCE_EXPORT


def month_export(period: str) -> str:
    """A month's folder under the exports directory (and under `.staging/<run id>/`)."""
    return str(MONTHLY_EXPORT_DIR / period)


@asset(
    key=STAGED_KEY,
    deps=[ROYALTIES_PARTY_STATEMENTS, ROYALTIES_ROYALTY_LEDGER, AIRPLAY_PLAYLOGS],
    partitions_def=monthly_partitions,
    backfill_policy=range_backfill,  # the same policy as the publishing asset: one run stages and publishes
    group_name="exports",
    kinds={"parquet", "duckdb"},
)
def staged_monthly_finance_export(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One folder per month, staged and not yet published: `data/exports/.staging/<run id>/finance-monthly/YYYY-MM/`
    with the month's ledger lines (one row per line with that accounting period), party statements (one row per
    party and currency), statement lines (one row per party, line type, recording and station) and the plays
    behind the ledger lines (one row per play), as Parquet files plus `finance_YYYY-MM.duckdb` and a README.

    Read from `royalties.royalty_ledger`, `royalties.party_statements`, `royalties.statement_lines` and
    `airplay.playlogs`. Validated by the blocking check `monthly_finance_export_meets_expectations`, then
    published by `exports/monthly_finance_export` in the same run.
    """
    db = warehouse.client()
    require_sound_ledger(db)  # an unsound ledger (tampered, unsealed, constraint broken) is never exported
    run_id = context.run.run_id
    counts: dict[str, int] = {}
    for period in months_of(context):
        clear_stale_staging(data_dir.exports, run_id, month_export(period))
        tables = monthly_tables(db, period)
        write_monthly_export(tables, period, staging_dir(data_dir.exports, run_id, month_export(period)))
        for name, frame in tables.items():
            counts[f"rows/{name}"] = counts.get(f"rows/{name}", 0) + frame.height
    last = months_of(context)[-1]
    return MaterializeResult(
        metadata={"path": MetadataValue.path(str(staging_dir(data_dir.exports, run_id, month_export(last)))), **counts}
    )


@asset_check(
    asset=STAGED_KEY,
    partitions_def=monthly_partitions,
    blocking=True,
    description="Great Expectations suite on each staged month: keys not null and unique, money in integer "
    "minor units, known accounts, currencies and line types. Blocking: a failure stops the month from "
    "being published.",
)
def monthly_finance_export_meets_expectations(
    context: AssetCheckExecutionContext, data_dir: DataDirResource
) -> AssetCheckResult:
    """Validate the Parquet files this run staged for each month of the partition window."""
    failures: list[str] = []
    evaluated = 0
    tables_md = []
    for period in months_of(context):
        staged = staging_dir(data_dir.exports, context.run.run_id, month_export(period))
        outcome = validate_tables(read_parquet_files(staged, list(EXPORT_TABLES)), MONTHLY_SUITE)
        evaluated += outcome.evaluated
        failures += [f"{period} {f}" for f in outcome.failures]
        tables_md.append(f"### {period}\n\n{outcome.markdown()}")
    return AssetCheckResult(
        passed=not failures,
        metadata={
            "expectations_evaluated": evaluated,
            "expectations_failed": len(failures),
            "failures": MetadataValue.md("\n".join(f"- {f}" for f in failures[:50]) or "_none_"),
            "expectations": MetadataValue.md("\n\n".join(tables_md)),
        },
    )


@asset(
    key=EXPORTS_MONTHLY_FINANCE_EXPORT,
    deps=[STAGED_KEY],
    partitions_def=monthly_partitions,
    backfill_policy=range_backfill,
    group_name="exports",
    kinds={"parquet", "duckdb"},
)
def monthly_finance_export(context: AssetExecutionContext, data_dir: DataDirResource) -> MaterializeResult:
    """One folder per month, `data/exports/finance-monthly/YYYY-MM/`: the month's ledger lines, party statements,
    statement lines and plays as Parquet files plus `finance_YYYY-MM.duckdb` and a README of the columns.

    It is the run's validated staging (`exports/staged_monthly_finance_export`) swapped in whole; a failed
    validation skips this step and leaves the month's last good folder. Re-running a month replaces exactly
    that month's folder. Money stays in integer minor units beside its currency.
    """
    root = data_dir.exports / MONTHLY_EXPORT_DIR
    counts: dict[str, int] = {}
    balances: dict[str, int] = {}
    for period in months_of(context):
        try:
            folder = publish_staged(data_dir.exports, context.run.run_id, month_export(period))
        except FileNotFoundError as exc:
            raise Failure(
                description=f"{exc}: materialize exports/staged_monthly_finance_export (and its check) "
                "in the same run; publication never takes files another run staged"
            ) from None
        data_dir.push_export(folder)  # shared storage (if configured): other machines read it there
        for name in EXPORT_TABLES:
            rows = pl.scan_parquet(folder / f"{name}.parquet").select(pl.len()).collect().item()
            counts[f"rows/{name}"] = counts.get(f"rows/{name}", 0) + rows
        ledger = pl.read_parquet(folder / "ledger_lines.parquet", columns=["currency", "amount_minor"])
        for currency, amount in ledger.group_by("currency").agg(pl.col("amount_minor").sum()).iter_rows():
            balances[currency] = balances.get(currency, 0) + int(amount)
        context.log.info(f"monthly finance export {period} published to {folder}")
    last = months_of(context)[-1]
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(root / last)),
            "duckdb_file": MetadataValue.path(str(root / last / duckdb_name(last))),
            "ledger_balance_minor_by_currency": MetadataValue.json(balances),
            **counts,
        }
    )


@asset_check(
    asset=monthly_finance_export,
    partitions_def=monthly_partitions,
    description="The month's folder has every Parquet file, the DuckDB file with the same row counts, "
    "and a README naming every column.",
)
def monthly_finance_export_is_complete(
    context: AssetCheckExecutionContext, data_dir: DataDirResource
) -> AssetCheckResult:
    problems: list[str] = []
    for period in months_of(context):
        problems += export_problems(data_dir.exports / MONTHLY_EXPORT_DIR / period, period)
    return AssetCheckResult(
        passed=not problems,
        metadata={
            "problems": len(problems),
            "examples": MetadataValue.md("\n".join(f"- {p}" for p in problems[:20]) or "_none_"),
        },
    )


def export_problems(folder: Path, period: str) -> list[str]:
    """What is missing or inconsistent in a month's export folder (empty: complete)."""
    database = folder / duckdb_name(period)
    readme = folder / "README.md"
    missing = [p.name for p in (database, readme, *(folder / f"{n}.parquet" for n in EXPORT_TABLES)) if not p.exists()]
    if missing:
        return [f"{period}: missing {', '.join(missing)}"]
    problems = []
    text = readme.read_text(encoding="utf-8")
    con = duckdb.connect(str(database), read_only=True)
    try:
        for name, (table, _) in EXPORT_TABLES.items():
            parquet_rows = pl.scan_parquet(folder / f"{name}.parquet").select(pl.len()).collect().item()
            duckdb_rows = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
            if parquet_rows != duckdb_rows:
                problems.append(f"{period} {name}: {parquet_rows} rows in Parquet, {duckdb_rows} in DuckDB")
            undocumented = [c for c in table.column_names if f"`{c}`" not in text]
            if undocumented:
                problems.append(f"{period} {name}: README lacks {', '.join(undocumented)}")
    finally:
        con.close()
    return problems
