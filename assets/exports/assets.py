"""The daily finance export, written, audited and published: staged files → a blocking check → the published copy.

Staging, the check and publication run in one Dagster run (jobs and automation request them together): a failed
check is blocking, so Dagster skips `exports/finance_export` and finance keeps reading the last good export.
"""

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AutomationCondition,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.common.automation import after_upstream_updates
from assets.common.keys import EXPORTS_FINANCE_EXPORT, EXPORTS_STAGED_FINANCE_EXPORT, analytics_key
from assets.common.paths import DataDirResource
from backbeat.analytics.dbt_lineage import read_manifest, upstream_models
from backbeat.exports.expectations import FINANCE_SUITE, validate_tables
from backbeat.exports.finance import (
    clear_stale_staging,
    publish_staged,
    read_parquet_files,
    staging_dir,
    write_export,
)
from backbeat.exports.relations import MissingRelationError, require_relations
from backbeat.royalties.ledger_chain import require_sound_ledger
from backbeat.settings import DBT_PROJECT_DIR
from integrations.warehouse import WarehouseResource

FINANCE_MARTS = (
    "fct_ledger_lines",
    "fct_ledger_batches",
    "fct_party_royalties_daily",
    "fct_plays",
    "fct_daily_airplay",
    *(f"fct_leaderboard_{entity}" for entity in ("tracks", "artists", "stations", "programs")),
)
FINANCE_EXPORT = "finance"
"""The published folder under the exports directory, and its name under `.staging/<run id>/`."""

ANALYTICS_SCHEMA = "analytics"  # where dbt builds every model (macros/generate_schema_name.sql)
REBUILD_HINT = "materialize analytics_job (every dbt model) to rebuild them, then the export"


def finance_lineage() -> list[str]:
    """The dbt models the finance marts are built from, with the marts themselves."""
    return upstream_models(read_manifest(DBT_PROJECT_DIR), FINANCE_MARTS)


with_its_staging = (
    AutomationCondition.any_deps_match(AutomationCondition.will_be_requested()) & ~AutomationCondition.in_progress()
).with_label("in the same run as its staged export")
"""Publication is only requested together with its staging, so the blocking check always runs in between."""


@asset(
    key=EXPORTS_STAGED_FINANCE_EXPORT,
    deps=[analytics_key(m) for m in FINANCE_MARTS],
    group_name="exports",
    kinds={"parquet", "duckdb"},
    automation_condition=after_upstream_updates,
)
def staged_finance_export(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """The finance marts written to staging, not yet published: `data/exports/.staging/<run id>/finance/` holds
    `parquet/<mart>.parquet` (one file per mart: ledger lines, batch balances, party royalties per day, plays,
    daily airplay) and `finance.duckdb` with the same tables.

    Validated by the blocking check `finance_export_meets_expectations`, then published by `exports/finance_export`
    in the same run. A staging that failed validation stays until the next attempt, for inspection.
    """
    db = warehouse.client()
    try:  # a dropped view leaves the marts built from it stale: never publish them as a success
        require_relations(db, ANALYTICS_SCHEMA, finance_lineage(), REBUILD_HINT)
    except MissingRelationError as exc:
        raise Failure(description=str(exc)) from None
    require_sound_ledger(db)  # the marts are built from the ledger: an unsound ledger is never exported
    tables = {name: db.query(f"SELECT * FROM analytics.{name}") for name in FINANCE_MARTS}
    cleared = clear_stale_staging(data_dir.exports, context.run.run_id, FINANCE_EXPORT)
    staged = staging_dir(data_dir.exports, context.run.run_id, FINANCE_EXPORT)
    write_export(tables, staged)
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(staged)),
            "stale_stagings_removed": len(cleared),
            **{f"rows/{name}": frame.height for name, frame in tables.items()},
        }
    )


@asset_check(
    asset=EXPORTS_STAGED_FINANCE_EXPORT,
    blocking=True,
    description="Great Expectations suite on the staged files: keys not null and unique, money in integer "
    "minor units, known accounts and currencies, every batch balancing to zero. Blocking: a failure stops "
    "the export from being published.",
)
def finance_export_meets_expectations(
    context: AssetCheckExecutionContext, data_dir: DataDirResource
) -> AssetCheckResult:
    """Validate the Parquet files this run staged (exactly what would be published)."""
    staged = staging_dir(data_dir.exports, context.run.run_id, FINANCE_EXPORT)
    outcome = validate_tables(read_parquet_files(staged / "parquet", list(FINANCE_MARTS)), FINANCE_SUITE)
    return AssetCheckResult(
        passed=outcome.success,
        description=None
        if staged.is_dir()
        else "nothing staged by this run: run the check with exports/staged_finance_export",
        metadata={
            "staged": MetadataValue.path(str(staged)),
            "expectations_evaluated": outcome.evaluated,
            "expectations_failed": len(outcome.failures),
            "failures": MetadataValue.md("\n".join(f"- {f}" for f in outcome.failures) or "_none_"),
            "expectations": MetadataValue.md(outcome.markdown()),
        },
    )


@asset(
    key=EXPORTS_FINANCE_EXPORT,
    deps=[EXPORTS_STAGED_FINANCE_EXPORT],
    group_name="exports",
    kinds={"parquet", "duckdb"},
    automation_condition=with_its_staging,
)
def finance_export(context: AssetExecutionContext, data_dir: DataDirResource) -> MaterializeResult:
    """Finance's copy of the royalty marts: `data/exports/finance/parquet/*.parquet` and `finance.duckdb`.

    One file per mart (ledger lines, batch balances, party royalties per day, plays, daily airplay). It is the
    run's validated staging (`exports/staged_finance_export`) swapped in whole: readers see the old export or
    the new one, never half of each. A failed validation skips this step and leaves the last good export.
    """
    try:
        target = publish_staged(data_dir.exports, context.run.run_id, FINANCE_EXPORT)
    except FileNotFoundError as exc:
        raise Failure(
            description=f"{exc}: materialize exports/staged_finance_export (and its check) in the same "
            "run; publication never takes files another run staged"
        ) from None
    if shared := data_dir.push_export(target):  # shared storage (if configured): other machines read it there
        context.log.info(f"finance export uploaded: {len(shared.transferred)} files changed")
    files = sorted((target / "parquet").glob("*.parquet"))
    rows = {f.stem: pl.scan_parquet(f).select(pl.len()).collect().item() for f in files}
    context.log.info(f"finance export published to {target}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            "duckdb_file": MetadataValue.path(str(target / "finance.duckdb")),
            **{f"rows/{name}": n for name, n in rows.items()},
        }
    )
