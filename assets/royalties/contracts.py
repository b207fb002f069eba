"""Contract terms and what they post: the terms file (`inbox/royalties/contract_terms.csv`) and, per month, the
contract ledger (advances, shares, recoupment, reserves held and released) that statements read.

Thin: the core is `backbeat/royalties/contract_terms.py` (terms and the month-by-month calculation) and
`backbeat/royalties/recoupment.py` (balanced, idempotent batches in `royalties.contract_ledger`).
"""

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.common.keys import (
    ROYALTIES_CONTRACT_LEDGER,
    ROYALTIES_CONTRACT_TERMS,
    ROYALTIES_PAYOUTS,
    ROYALTIES_ROYALTY_LEDGER,
)
from assets.common.partitions import monthly_partitions, range_backfill
from assets.common.paths import DataDirResource
from assets.royalties.statements import statement_periods
from backbeat.common.quarantine import record_rejects
from backbeat.royalties.contract_terms import read_terms_csv, terms_frame
from backbeat.royalties.recoupment import apply_contract_terms, unbalanced_batches
from backbeat.royalties.tables import CONTRACT_LEDGER, CONTRACT_TERMS
from integrations.warehouse import WarehouseResource

TERMS_FILE = ("royalties", "contract_terms.csv")


@asset(key=ROYALTIES_CONTRACT_TERMS, group_name="royalties", kinds={"csv", "sql"})
def contract_terms(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per contract term (`royalties.contract_terms`): a party's rate or share of another party's
    receipts with its validity dates, its advance (recouped from earnings before anything is payable), minimum
    payout and reserve (a share of earnings held back and released after N periods).

    Read from `inbox/royalties/contract_terms.csv`; a bad row is quarantined with file, row and field and the
    other terms apply. Without the file the terms stored stay as they are."""
    db = warehouse.client()
    db.ensure(CONTRACT_TERMS)
    path = data_dir.inbox.joinpath(*TERMS_FILE)
    if not path.exists():
        count = int(db.scalar(f"SELECT count(*) FROM {CONTRACT_TERMS.qualified_name}") or 0)
        return MaterializeResult(metadata={"dagster/row_count": count, "file": f"none at {path}: terms kept"})
    terms, rejects = read_terms_csv(path)
    db.replace(CONTRACT_TERMS, terms_frame(terms))
    record_rejects(db, "royalties/contract_terms", "", rejects, context.log.warning)
    return MaterializeResult(
        metadata={"dagster/row_count": len(terms), "rejected_rows": len(rejects), "file": str(path)}
    )


@asset(
    key=ROYALTIES_CONTRACT_LEDGER,
    deps=[ROYALTIES_ROYALTY_LEDGER, ROYALTIES_PAYOUTS, ROYALTIES_CONTRACT_TERMS],
    partitions_def=monthly_partitions,
    backfill_policy=range_backfill,
    group_name="royalties",
    kinds={"sql"},
)
def contract_ledger(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """The contract ledger (`royalties.contract_ledger`, append-only): every effect of the contract terms up to
    the month as balanced two-line batches (advance paid, share of a source party's receipts, advance recouped,
    reserve held, reserve released). Deterministic batch ids: re-running a month posts nothing, and a month whose
    earnings changed posts only the difference as the next revision. Runs after the month's ledger and payouts
    and before its statements, which show recoupment progress from it."""
    db = warehouse.client()
    posted, lines, skipped = [], 0, {}
    balance: dict[str, int] = {}
    for period in statement_periods(context):
        run = apply_contract_terms(db, period)
        posted += run.batches_posted
        lines += run.lines_written
        skipped.update(run.terms_skipped)
        for currency, amount in run.balance_minor.items():
            balance[currency] = balance.get(currency, 0) + amount
    for term, why in skipped.items():
        context.log.warning(f"contract term {term} not applied: {why}")
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(db.scalar(f"SELECT count(*) FROM {CONTRACT_LEDGER.qualified_name}") or 0),
            "batches_posted": len(posted),
            "lines_written": lines,
            "balance_minor_by_currency": MetadataValue.json(balance),
            "terms_skipped": MetadataValue.json(skipped),
        }
    )


@asset_check(
    asset=ROYALTIES_CONTRACT_LEDGER,
    partitions_def=monthly_partitions,
    description="Every contract-ledger batch sums to zero in its currency.",
)
def contract_batches_balance(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    """Reads the whole contract ledger: a batch that does not sum to zero fails the check, named."""
    with warehouse.client().connect() as conn:
        conn.ensure(CONTRACT_LEDGER)
        bad = unbalanced_batches(conn)
    return AssetCheckResult(passed=not bad, metadata={"unbalanced_batches": MetadataValue.json(bad[:20])})
