"""The Great Expectations suites a finance export must pass before it is published.

A suite is declared per exported table (`TableSuite`); `validate_tables` turns it into Great Expectations
expectations and runs them on the staged files. great_expectations takes seconds to import, so it is imported
inside `validate_tables` only, never when the definitions load.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.statements import LINE_TYPES
from backbeat.royalties.tables import ACCOUNTS

CURRENCIES = tuple(MINOR_UNIT_EXPONENT)


@dataclass(frozen=True)
class TableSuite:
    """What one exported table must satisfy."""

    not_null: tuple[str, ...] = ()
    integer_money: tuple[str, ...] = ()
    """Columns of integer minor units: int64, never floats."""
    unique: tuple[str, ...] = ()
    """The table's key: no two rows share these values."""
    allowed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Column → the only values it may hold."""
    zero: tuple[str, ...] = ()
    """Columns that must be 0 on every row (a batch's balance)."""


FINANCE_SUITE: dict[str, TableSuite] = {
    "fct_ledger_lines": TableSuite(
        not_null=("batch_id", "line_no", "account", "amount_minor", "currency", "posted_for"),
        integer_money=("amount_minor",),
        unique=("batch_id", "line_no"),
        allowed={"account": ACCOUNTS, "currency": CURRENCIES},
    ),
    "fct_ledger_batches": TableSuite(
        not_null=("batch_id", "currency", "balance_minor"),
        integer_money=("debit_minor", "credit_minor", "balance_minor"),
        unique=("batch_id", "currency"),
        zero=("balance_minor",),
    ),
    "fct_party_royalties_daily": TableSuite(
        not_null=("party_id", "currency", "amount_minor"), integer_money=("amount_minor",)
    ),
    "fct_plays": TableSuite(not_null=("play_id",), unique=("play_id",)),
    "fct_daily_airplay": TableSuite(
        not_null=("station_id", "track_id", "play_date"), unique=("station_id", "track_id", "play_date")
    ),
    **{
        f"fct_leaderboard_{entity}": TableSuite(
            not_null=("leaderboard_id", "grain", "period_start", "play_count", "play_rank"),
            unique=("leaderboard_id",),
            allowed={"grain": ("day", "week", "month")},
        )
        for entity in ("tracks", "artists", "stations", "programs")
    },
}
"""The daily export (`exports/finance_export`): the dbt marts finance reads."""

MONTHLY_SUITE: dict[str, TableSuite] = {
    "ledger_lines": TableSuite(
        not_null=("batch_id", "line_no", "account", "amount_minor", "currency", "accounting_period"),
        integer_money=("amount_minor",),
        unique=("batch_id", "line_no"),
        allowed={"account": ACCOUNTS, "currency": CURRENCIES},
    ),
    "party_statements": TableSuite(
        not_null=("period", "party_id", "currency", "opening_minor", "closing_minor"),
        integer_money=(
            "opening_minor",
            "earnings_minor",
            "adjustments_minor",
            "payouts_minor",
            "closing_minor",
            "held_minor",
        ),
        unique=("period", "party_id", "currency"),
        allowed={"currency": CURRENCIES, "status": ("final", "provisional")},
    ),
    "statement_lines": TableSuite(
        not_null=("period", "party_id", "currency", "line_type", "amount_minor"),
        integer_money=("amount_minor",),
        allowed={"line_type": LINE_TYPES, "currency": CURRENCIES},
    ),
    "plays": TableSuite(not_null=("play_id", "station_id", "start_utc"), unique=("play_id",)),
    "tariffs": TableSuite(
        not_null=("tariff_id", "station_id", "currency", "effective_from"),
        unique=("tariff_id",),
        allowed={"currency": CURRENCIES},
    ),
    "payouts": TableSuite(
        not_null=("payout_id", "party_id", "status"),
        integer_money=("amount_minor",),
        unique=("payout_id",),
        allowed={"status": ("requested", "approved", "rejected", "paid")},
    ),
    "parties": TableSuite(not_null=("party_id",), unique=("party_id",)),
    "stations": TableSuite(not_null=("station_id",), unique=("station_id",)),
}
"""The monthly export (`exports/monthly_finance_export`): ledger lines, statements and plays of a month, the
tariffs in force, the payouts, and the names of the parties and stations."""


@dataclass(frozen=True)
class ExpectationResult:
    table: str
    expectation: str
    column: str
    success: bool
    unexpected: int | None


@dataclass(frozen=True)
class ValidationOutcome:
    results: list[ExpectationResult]
    missing_tables: list[str]

    @property
    def failures(self) -> list[str]:
        """One line per failed expectation or missing table, for a person to read."""
        out = [f"{t}: table missing from the export" for t in self.missing_tables]
        out += [
            f"{r.table}: {r.expectation}({r.column}) failed"
            + (f", {r.unexpected} unexpected value(s)" if r.unexpected else "")
            for r in self.results
            if not r.success
        ]
        return out

    @property
    def success(self) -> bool:
        return not self.failures

    @property
    def evaluated(self) -> int:
        return len(self.results)

    def markdown(self) -> str:
        """A table of every expectation and its outcome, for the check's metadata."""
        lines = ["| table | expectation | column | outcome |", "|---|---|---|---|"]
        lines += [f"| {t} | table present | | failed |" for t in self.missing_tables]
        lines += [
            f"| {r.table} | {r.expectation} | {r.column} | {'passed' if r.success else 'FAILED'} |"
            for r in self.results
        ]
        return "\n".join(lines)


def _expectations(gx, suite: TableSuite) -> list:  # noqa: ANN001 (the lazily imported module)
    e = gx.expectations
    out = [e.ExpectColumnValuesToNotBeNull(column=c) for c in suite.not_null]
    out += [e.ExpectColumnValuesToBeOfType(column=c, type_="int64") for c in suite.integer_money]
    out += [e.ExpectColumnValuesToBeInSet(column=c, value_set=list(values)) for c, values in suite.allowed.items()]
    out += [e.ExpectColumnValuesToBeBetween(column=c, min_value=0, max_value=0) for c in suite.zero]
    if len(suite.unique) == 1:
        out.append(e.ExpectColumnValuesToBeUnique(column=suite.unique[0]))
    elif suite.unique:
        out.append(e.ExpectCompoundColumnsToBeUnique(column_list=list(suite.unique)))
    return out


def validate_tables(tables: dict[str, pl.DataFrame], suites: dict[str, TableSuite]) -> ValidationOutcome:
    """Run each table's suite over it with Great Expectations; a table the suites name but `tables` lacks fails."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("finance_export")
    results: list[ExpectationResult] = []
    for name, suite in suites.items():
        if name not in tables:
            continue
        expectations = gx.ExpectationSuite(name=f"finance_export.{name}")
        for expectation in _expectations(gx, suite):
            expectations.add_expectation(expectation)
        batch = (
            source.add_dataframe_asset(name)
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": tables[name].to_pandas()})
        )
        for r in batch.validate(expectations).results:
            kwargs = r.expectation_config.kwargs
            column = kwargs.get("column") or ", ".join(kwargs.get("column_list") or [])
            results.append(
                ExpectationResult(
                    name, r.expectation_config.type, column, bool(r.success), (r.result or {}).get("unexpected_count")
                )
            )
    return ValidationOutcome(results, [name for name in suites if name not in tables])
