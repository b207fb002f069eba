"""Export assets: what finance reads, validated before it is published."""

from dagster import AssetExecutionContext, Failure, MaterializeResult, MetadataValue, asset

from assets.common.paths import DataDirResource
from assets.exports.expectations import validate_finance_tables
from assets.exports.finance import publish, write_export
from integrations.warehouse import WarehouseResource
from orchestration.automation import after_upstream_updates

FINANCE_MARTS = ("fct_ledger_lines", "fct_ledger_batches", "fct_party_royalties_daily", "fct_plays",
                 "fct_daily_airplay")


@asset(key=["exports", "finance_export"], deps=[["analytics", m] for m in FINANCE_MARTS], group_name="exports",
       kinds={"parquet", "duckdb"}, automation_condition=after_upstream_updates)
def finance_export(context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
                   ) -> MaterializeResult:
    """Finance's copy of the royalty marts: `data/exports/finance/parquet/*.parquet` and `finance.duckdb`.

    One file per mart (ledger lines, batch balances, party royalties per day, plays, daily airplay). The
    export is written to a staging folder, validated by a Great Expectations suite (keys, integer money,
    batches balancing to zero) and only then swapped in whole; a failed validation leaves the last good export.
    """
    db = warehouse.client()
    tables = {name: db.query(f"SELECT * FROM analytics.{name}") for name in FINANCE_MARTS}
    outcome = validate_finance_tables(tables)
    if not outcome.success:
        raise Failure(
            description=f"finance export failed validation: {len(outcome.failures)} expectation(s)",
            metadata={"failures": MetadataValue.md("\n".join(f"- {x}" for x in outcome.failures))},
        )
    target = data_dir.exports / "finance"
    staging = data_dir.exports / ".finance.staging"
    write_export(tables, staging)
    publish(staging, target)
    context.log.info(f"finance export published to {target}")
    return MaterializeResult(
        metadata={
            "path": MetadataValue.path(str(target)),
            "duckdb_file": MetadataValue.path(str(target / "finance.duckdb")),
            "expectations_evaluated": outcome.evaluated,
            **{f"rows/{name}": frame.height for name, frame in tables.items()},
        }
    )
