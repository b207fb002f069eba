"""Monthly party statements from the ledger: opening balance, earnings, adjustments, payouts, closing balance.

A party is owed what its `party_payable` lines sum to, with the sign flipped (credits are negative in the
ledger, a statement shows what is owed as positive numbers). Lines are reported in their `accounting_period`:

- **opening**: the balance of every line of earlier periods;
- **earnings**: `posting` lines of first-revision batches (`…|r1`) reported in the plays' own month — plays
  paid for the first time;
- **adjustments**: `reversal` lines, `posting` lines of later revisions, and first postings reported in a later
  month than the plays' (booked after their month was closed) — corrections (a split approved, a dispute
  resolved, a tariff fixed); each names the month of the plays it corrects (`corrects_period`);
- **payouts**: `payout` lines — money paid out, negative because it reduces what is owed;
- **closing** = opening + earnings + adjustments + payouts, which is the next month's opening;
- **held**: the party's credits sitting in `hold` for disputed plays at the end of the month (not in closing);
- **status**: `final` once the month is closed (`royalties.periods`), else `provisional`.

No Dagster here; money stays in integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl

from backbeat.royalties.tables import HOLD, LEDGER, PARTY_STATEMENTS, PAYABLE, STATEMENT_LINES
from integrations.warehouse import WarehouseConnection

LINE_TYPES = ("earnings", "adjustment", "payout")
FINAL, PROVISIONAL = "final", "provisional"
FIRST_REVISION_SUFFIX = "|r1"
BALANCE_SCHEMA = {"party_id": pl.Utf8(), "currency": pl.Utf8(), "payable_minor": pl.Int64(), "hold_minor": pl.Int64()}


@dataclass(frozen=True)
class Statements:
    """One month's statements: totals per party and currency, and their detail lines."""

    statements: pl.DataFrame
    lines: pl.DataFrame


def line_type() -> pl.Expr:
    """earnings, adjustment or payout for a party_payable ledger line."""
    return (
        pl.when(pl.col("entry_kind") == "payout")
        .then(pl.lit("payout"))
        .when(
            (pl.col("entry_kind") == "posting")
            & pl.col("batch_id").str.ends_with(FIRST_REVISION_SUFFIX)
            & (pl.col("accounting_period") == plays_period())
        )
        .then(pl.lit("earnings"))
        .otherwise(pl.lit("adjustment"))
    )


def plays_period() -> pl.Expr:
    """YYYY-MM of a ledger line's `posted_for` day: the month of the plays (or payout) it is about."""
    return pl.col("posted_for").dt.strftime("%Y-%m")


def corrects_period() -> pl.Expr:
    """For adjustment lines (needs a `line_type` column): the month of the plays they correct; else null."""
    return pl.when(pl.col("line_type") == "adjustment").then(plays_period()).otherwise(pl.lit(None, pl.Utf8))


def _party_lines(lines: pl.DataFrame) -> pl.DataFrame:
    return lines.filter(pl.col("account").is_in([PAYABLE, HOLD]) & pl.col("party_id").is_not_null())


def balances_before(lines: pl.DataFrame, period: str) -> pl.DataFrame:
    """Owed (party_payable) and held (hold) per party and currency over the periods before `period`.

    Positive means owed to the party. The statements asset computes the same in SQL.
    """
    earlier = _party_lines(lines).filter(pl.col("accounting_period") < period)
    return (
        earlier.group_by("party_id", "currency")
        .agg(
            payable_minor=-pl.col("amount_minor").filter(pl.col("account") == PAYABLE).sum(),
            hold_minor=-pl.col("amount_minor").filter(pl.col("account") == HOLD).sum(),
        )
        .select([pl.col(n).cast(t) for n, t in BALANCE_SCHEMA.items()])
    )


def build_statements(
    period: str, period_lines: pl.DataFrame, before: pl.DataFrame, status: str = PROVISIONAL
) -> Statements:
    """Statements for `period` from its ledger lines and the balances carried in from earlier periods.

    `period_lines`: ledger lines (LEDGER columns; lines of other periods are ignored). `before`: the
    output of `balances_before` (party_id, currency, payable_minor, hold_minor). `status`: `final` for a
    closed month, `provisional` for an open one.
    """
    current = _party_lines(period_lines).filter(pl.col("accounting_period") == period)
    payable = (
        current.filter(pl.col("account") == PAYABLE)
        .with_columns(line_type=line_type())
        .with_columns(corrects_period=corrects_period())
    )
    held = (
        current.filter(pl.col("account") == HOLD)
        .group_by("party_id", "currency")
        .agg(held_in_period=-pl.col("amount_minor").sum())
    )
    totals = payable.group_by("party_id", "currency").agg(
        [(-pl.col("amount_minor").filter(pl.col("line_type") == kind).sum()).alias(kind) for kind in LINE_TYPES]
    )
    keys = pl.concat([before.select("party_id", "currency"), current.select("party_id", "currency")]).unique()
    statements = (
        keys.join(before, on=["party_id", "currency"], how="left")
        .join(totals, on=["party_id", "currency"], how="left")
        .join(held, on=["party_id", "currency"], how="left")
        .with_columns(pl.col("payable_minor", "hold_minor", *LINE_TYPES, "held_in_period").fill_null(0))
        .select(
            pl.lit(period).alias("period"),
            "party_id",
            "currency",
            pl.col("payable_minor").alias("opening_minor"),
            pl.col("earnings").alias("earnings_minor"),
            pl.col("adjustment").alias("adjustments_minor"),
            pl.col("payout").alias("payouts_minor"),
            (pl.col("payable_minor") + pl.col("earnings") + pl.col("adjustment") + pl.col("payout")).alias(
                "closing_minor"
            ),
            (pl.col("hold_minor") + pl.col("held_in_period")).alias("held_minor"),
            pl.lit(status).alias("status"),
        )
        .sort("party_id", "currency")
    )
    detail = (
        payable.group_by("party_id", "currency", "line_type", "recording_id", "station_id", "corrects_period")
        .agg(plays=pl.col("play_id").drop_nulls().n_unique(), amount_minor=-pl.col("amount_minor").sum())
        .with_columns(period=pl.lit(period))
        .sort("party_id", "currency", "line_type", "recording_id", "station_id", "corrects_period", nulls_last=True)
    )
    return Statements(PARTY_STATEMENTS.conform(statements), STATEMENT_LINES.conform(detail))


BALANCES_SQL = (
    "SELECT party_id, currency, "
    "CAST(-sum(CASE WHEN account = 'party_payable' THEN amount_minor ELSE 0 END) AS BIGINT) AS payable_minor, "
    "CAST(-sum(CASE WHEN account = 'hold' THEN amount_minor ELSE 0 END) AS BIGINT) AS hold_minor "
    "FROM royalties.royalty_ledger WHERE account IN ('party_payable', 'hold') AND party_id IS NOT NULL "
    "AND accounting_period < ?{party} GROUP BY party_id, currency"
)
"""`balances_before` in SQL: owed and held per party and currency before a month (`{party}`: optional filter)."""


def statements_in(
    conn: WarehouseConnection, period: str, status: str = PROVISIONAL, party_id: str | None = None
) -> Statements:
    """`period`'s statements computed from the ledger in `conn` (every party, or only `party_id`)."""
    conn.ensure(LEDGER)
    party = " AND party_id = ?" if party_id is not None else ""
    extra = [party_id] if party_id is not None else []
    before = conn.query(BALANCES_SQL.format(party=party), [period, *extra], BALANCE_SCHEMA)
    lines = conn.query(
        f"SELECT {', '.join(LEDGER.column_names)} FROM {LEDGER.qualified_name} WHERE accounting_period = ? "
        f"AND account IN ('party_payable', 'hold'){party}",
        [period, *extra],
        LEDGER.polars_schema,
    )
    return build_statements(period, lines, before, status)


def statements_from_lines(lines: pl.DataFrame, period: str) -> Statements:
    """Statements for `period` from every ledger line up to it (a convenience for small data and tests)."""
    return build_statements(period, lines, balances_before(lines, period))


def movements_add_up(statements: pl.DataFrame, lines: pl.DataFrame) -> list[str]:
    """Statements whose closing is not opening + movements, or whose detail lines do not sum to the totals."""
    problems = [
        f"{r['period']} {r['party_id']} {r['currency']}: closing {r['closing_minor']} != opening + movements"
        for r in statements.filter(
            pl.col("closing_minor")
            != pl.col("opening_minor")
            + pl.col("earnings_minor")
            + pl.col("adjustments_minor")
            + pl.col("payouts_minor")
        ).iter_rows(named=True)
    ]
    detail = lines.group_by("period", "party_id", "currency").agg(
        [pl.col("amount_minor").filter(pl.col("line_type") == kind).sum().alias(kind) for kind in LINE_TYPES]
    )
    joined = statements.join(detail, on=["period", "party_id", "currency"], how="left").with_columns(
        pl.col(*LINE_TYPES).fill_null(0)
    )
    for r in joined.filter(
        (pl.col("earnings") != pl.col("earnings_minor"))
        | (pl.col("adjustment") != pl.col("adjustments_minor"))
        | (pl.col("payout") != pl.col("payouts_minor"))
    ).iter_rows(named=True):
        problems.append(f"{r['period']} {r['party_id']} {r['currency']}: detail lines do not sum to the totals")
    return problems


def carry_forward_breaks(statements: pl.DataFrame) -> list[str]:
    """(party, currency) whose closing in one month differs from its opening in the next stored month."""
    ordered = statements.sort("party_id", "currency", "period").with_columns(
        next_period=pl.col("period").shift(-1).over("party_id", "currency"),
        next_opening=pl.col("opening_minor").shift(-1).over("party_id", "currency"),
    )
    broken = ordered.filter(
        pl.col("next_period").is_not_null()
        & (pl.col("next_period") == _next_month(pl.col("period")))
        & (pl.col("next_opening") != pl.col("closing_minor"))
    )
    return [
        f"{r['party_id']} {r['currency']}: closing {r['closing_minor']} in {r['period']} != opening "
        f"{r['next_opening']} in {r['next_period']}"
        for r in broken.iter_rows(named=True)
    ]


def _next_month(period: pl.Expr) -> pl.Expr:
    return (period + "-01").str.to_date("%Y-%m-%d").dt.offset_by("1mo").dt.strftime("%Y-%m")


def next_period(period: str) -> str:
    """The month after `period` (YYYY-MM)."""
    year, month = (int(x) for x in period.split("-"))
    return f"{year + month // 12:04d}-{month % 12 + 1:02d}"


def periods_between(start: date, end: date) -> list[str]:
    """The months (YYYY-MM) starting in [start, end): a monthly partition window's periods."""
    period, last, periods = f"{start:%Y-%m}", f"{end:%Y-%m}", []
    while period < last:
        periods.append(period)
        period = next_period(period)
    return periods


def previous_period(period: str) -> str:
    """The month before `period` (YYYY-MM)."""
    year, month = (int(x) for x in period.split("-"))
    return f"{year - (month == 1):04d}-{(month - 2) % 12 + 1:02d}"
