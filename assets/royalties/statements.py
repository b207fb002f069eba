"""Monthly party statements: each party's opening balance, earnings, adjustments, payouts and closing balance per
month and currency, with their detail lines, and the checks that they add up and carry forward."""

from collections.abc import Iterator

import polars as pl
from dagster import (
    AssetCheckExecutionContext,
    AssetCheckResult,
    AssetExecutionContext,
    AssetSpec,
    MaterializeResult,
    MetadataValue,
    asset_check,
    multi_asset,
)

from assets.common.keys import ROYALTIES_CONTRACT_LEDGER, ROYALTIES_PARTY_STATEMENTS, ROYALTIES_ROYALTY_LEDGER
from assets.common.metadata import table_metadata
from assets.common.partitions import monthly_partitions, range_backfill
from assets.common.table_specs import table_key, table_spec
from assets.royalties.payouts import payouts
from backbeat.royalties.ledger_chain import require_sound_ledger
from backbeat.royalties.periods import store_statements
from backbeat.royalties.statements import (
    carry_forward_breaks,
    movements_add_up,
    next_period,
    periods_between,
    previous_period,
)
from backbeat.royalties.tables import PARTY_STATEMENTS, STATEMENT_LINES
from integrations.warehouse import WarehouseResource


def statement_periods(context: AssetExecutionContext | AssetCheckExecutionContext) -> list[str]:
    """The months (YYYY-MM) of the run's partition window: one for a normal run, several for a range backfill."""
    window = context.partition_time_window
    return periods_between(window.start, window.end)


@multi_asset(
    name="royalties__party_statements",
    partitions_def=monthly_partitions,
    backfill_policy=range_backfill,
    specs=[
        AssetSpec(
            ROYALTIES_PARTY_STATEMENTS,
            deps=[ROYALTIES_ROYALTY_LEDGER, payouts, ROYALTIES_CONTRACT_LEDGER],
            group_name="royalties",
            kinds={"sql", "polars"},
        ),
        table_spec(
            STATEMENT_LINES,
            "royalties",
            "royalties/party_statements",
            {"sql", "polars"},
            deps=[ROYALTIES_ROYALTY_LEDGER, payouts, ROYALTIES_CONTRACT_LEDGER],
        ),
    ],
)
def party_statements(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    """One row per party, month and currency (`royalties.party_statements`): opening balance, earnings,
    adjustments, payouts, closing balance and credits held for disputed plays; and the detail
    (`royalties.statement_lines`), one row per party, month, line type, recording and station with its plays.

    Computed from `royalties.royalty_ledger` by accounting period: earnings are first postings of plays,
    adjustments are reversals and corrected revisions, payouts are payout batches. Amounts are owed to the
    party (positive), in integer minor units. Re-running an open month replaces exactly that month, marked
    provisional; a closed month (`backbeat royalties period close`) is final and is left as its close wrote it.
    """
    db = warehouse.client()
    require_sound_ledger(db)  # statements are money: never built from a ledger that fails verification
    frames, details = [], []
    for period in statement_periods(context):
        result = store_statements(db, period)
        frames.append(result.statements)
        details.append(result.lines)
    statements = PARTY_STATEMENTS.concat(frames)
    closing = statements.group_by("currency").agg(pl.col("closing_minor", "held_minor").sum()).sort("currency")
    yield MaterializeResult(
        asset_key=ROYALTIES_PARTY_STATEMENTS,
        metadata={
            **table_metadata(
                statements,
                statement_lines=sum(d.height for d in details),
                periods=", ".join(statement_periods(context)),
            ),
            "closing_minor_by_currency": MetadataValue.json({c: int(v) for c, v, _ in closing.iter_rows()}),
            "held_minor_by_currency": MetadataValue.json({c: int(h) for c, _, h in closing.iter_rows()}),
        },
    )
    yield MaterializeResult(
        asset_key=table_key(STATEMENT_LINES),
        metadata=table_metadata(STATEMENT_LINES.concat(details), periods=", ".join(statement_periods(context))),
    )


@asset_check(
    asset=ROYALTIES_PARTY_STATEMENTS,
    partitions_def=monthly_partitions,
    description="Each statement's closing balance is its opening plus earnings, adjustments and payouts, "
    "and its detail lines sum to those totals.",
)
def party_statements_add_up(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    periods = statement_periods(context)
    marks = ", ".join("?" for _ in periods)
    statements = db.read(PARTY_STATEMENTS, f"period IN ({marks})", periods)
    lines = db.read(STATEMENT_LINES, f"period IN ({marks})", periods)
    problems = movements_add_up(statements, lines)
    return AssetCheckResult(
        passed=not problems,
        metadata={
            "statements": statements.height,
            "lines": lines.height,
            "problems": len(problems),
            "examples": MetadataValue.md("\n".join(f"- {p}" for p in problems[:20]) or "_none_"),
        },
    )


@asset_check(
    asset=ROYALTIES_PARTY_STATEMENTS,
    partitions_def=monthly_partitions,
    description="A party's closing balance of a month equals its opening balance of the next month, "
    "wherever both statements exist.",
)
def party_statements_carry_forward(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    periods = statement_periods(context)
    around = sorted({previous_period(periods[0]), *periods, next_period(periods[-1])})
    statements = warehouse.client().read(PARTY_STATEMENTS, f"period IN ({', '.join('?' for _ in around)})", around)
    breaks = carry_forward_breaks(statements)
    return AssetCheckResult(
        passed=not breaks,
        metadata={
            "periods_compared": ", ".join(sorted(set(statements["period"].to_list()))),
            "breaks": len(breaks),
            "examples": MetadataValue.md("\n".join(f"- {b}" for b in breaks[:20]) or "_none_"),
        },
    )
