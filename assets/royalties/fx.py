"""Currencies: the FX rates file (`inbox/royalties/fx_rates.csv`), the parties' payout currencies
(`inbox/royalties/payout_currencies.csv`) and, per month, the FX ledger converting what those parties are owed
into the currency they are paid in.

Thin: the core is `backbeat/royalties/fx_rates.py` (reading rates and payout currencies) and
`backbeat/royalties/fx.py` (balanced, idempotent conversion batches in `royalties.fx_ledger`).
"""

from datetime import date

from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    Config,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    asset_check,
)

from assets.common.keys import (
    ROYALTIES_CONTRACT_LEDGER,
    ROYALTIES_FX_LEDGER,
    ROYALTIES_FX_RATES,
    ROYALTIES_PAYOUT_CURRENCIES,
    ROYALTIES_ROYALTY_LEDGER,
)
from assets.common.metadata import table_metadata
from assets.common.partitions import monthly_partitions, range_backfill
from assets.common.paths import DataDirResource
from assets.royalties.statements import statement_periods
from backbeat.common.quarantine import record_rejects
from backbeat.royalties.fx import FxRateMissing, convert_balances, unbalanced_fx_batches
from backbeat.royalties.fx_rates import read_payout_currencies_csv, read_rates_csv
from backbeat.royalties.recoupment import last_day
from backbeat.royalties.tables import FX_LEDGER, FX_RATES, PAYOUT_CURRENCIES
from integrations.warehouse import WarehouseResource

RATES_FILE = ("royalties", "fx_rates.csv")
CURRENCIES_FILE = ("royalties", "payout_currencies.csv")


@asset(key=ROYALTIES_FX_RATES, group_name="royalties", kinds={"csv", "sql"})
def fx_rates(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per currency pair and day (`royalties.fx_rates`): units of the quote currency for one unit of the
    base currency, exact (at most 6 decimal places), with who published it.

    Read from `inbox/royalties/fx_rates.csv` (base, quote, effective_on, rate, source); a bad row is quarantined
    with file, row and field, two different rates for one pair and day are both. Without the file the rates
    stored stay as they are."""
    db = warehouse.client()
    db.ensure(FX_RATES)
    path = data_dir.inbox.joinpath(*RATES_FILE)
    if not path.exists():
        count = int(db.scalar(f"SELECT count(*) FROM {FX_RATES.qualified_name}") or 0)
        return MaterializeResult(metadata={"dagster/row_count": count, "file": f"none at {path}: rates kept"})
    frame, rejects = read_rates_csv(path)
    db.replace(FX_RATES, frame)
    record_rejects(db, "royalties/fx_rates", "", rejects, context.log.warning)
    return MaterializeResult(metadata=table_metadata(frame, rejected_rows=len(rejects), file=str(path)))


@asset(key=ROYALTIES_PAYOUT_CURRENCIES, group_name="royalties", kinds={"csv", "sql"})
def payout_currencies(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per party paid in another currency than it earns in (`royalties.payout_currencies`).

    Read from `inbox/royalties/payout_currencies.csv` (party_id, payout_currency; empty: paid in what it
    earned); a bad row is quarantined. Without the file the choices stored stay as they are."""
    db = warehouse.client()
    db.ensure(PAYOUT_CURRENCIES)
    path = data_dir.inbox.joinpath(*CURRENCIES_FILE)
    if not path.exists():
        count = int(db.scalar(f"SELECT count(*) FROM {PAYOUT_CURRENCIES.qualified_name}") or 0)
        return MaterializeResult(metadata={"dagster/row_count": count, "file": f"none at {path}: choices kept"})
    frame, rejects = read_payout_currencies_csv(path)
    db.replace(PAYOUT_CURRENCIES, frame)
    record_rejects(db, "royalties/payout_currencies", "", rejects, context.log.warning)
    return MaterializeResult(metadata=table_metadata(frame, rejected_rows=len(rejects), file=str(path)))


class FxConfig(Config):
    """The day whose rates a one-month run converts at (YYYY-MM-DD); empty: the month's last day."""

    converted_on: str = ""


@asset(
    key=ROYALTIES_FX_LEDGER,
    deps=[ROYALTIES_ROYALTY_LEDGER, ROYALTIES_CONTRACT_LEDGER, ROYALTIES_FX_RATES, ROYALTIES_PAYOUT_CURRENCIES],
    partitions_def=monthly_partitions,
    backfill_policy=range_backfill,
    group_name="royalties",
    kinds={"sql"},
)
def fx_ledger(context: AssetExecutionContext, config: FxConfig, warehouse: WarehouseResource) -> MaterializeResult:
    """The FX ledger (`royalties.fx_ledger`, append-only): per party paid in another currency, the month's closing
    balance in each billed currency converted at the rate of the conversion day (the month's last day unless
    configured), in five-line batches summing to zero per currency through fx_clearing, the half-even rounding
    difference on fx_rounding. Deterministic batch ids: re-running a month posts nothing. A rate missing for the
    day fails the run, naming pair and day, and posts nothing for that month."""
    db = warehouse.client()
    periods = statement_periods(context)
    if config.converted_on and len(periods) > 1:
        raise Failure(description="converted_on applies to a one-month run; run the months one by one")
    posted: list[str] = []
    lines = 0
    for period in periods:
        day = date.fromisoformat(config.converted_on) if config.converted_on else last_day(period)
        try:
            run = convert_balances(db, period, day)
        except FxRateMissing as exc:
            raise Failure(description=str(exc)) from exc
        posted += run.batches_posted
        lines += run.lines_written
    return MaterializeResult(
        metadata={
            "dagster/row_count": int(db.scalar(f"SELECT count(*) FROM {FX_LEDGER.qualified_name}") or 0),
            "batches_posted": len(posted),
            "lines_written": lines,
            "batches": MetadataValue.json(posted[:20]),
        }
    )


@asset_check(
    asset=ROYALTIES_FX_LEDGER,
    partitions_def=monthly_partitions,
    description="Every FX ledger batch sums to zero in each of its currencies.",
)
def fx_batches_balance(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    """Reads the whole FX ledger: a batch whose lines in one currency do not sum to zero fails the check, named."""
    with warehouse.client().connect() as conn:
        bad = unbalanced_fx_batches(conn)
    return AssetCheckResult(passed=not bad, metadata={"unbalanced_batches": MetadataValue.json(bad[:20])})
