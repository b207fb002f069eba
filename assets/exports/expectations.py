"""The Great Expectations suite a finance export must pass before it is published.

great_expectations takes seconds to import, so it is imported inside `validate_finance_tables` only.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from assets.royalties.tables import ACCOUNTS

NOT_NULL = {
    "fct_ledger_lines": ["batch_id", "line_no", "account", "amount_minor", "currency", "posted_for"],
    "fct_ledger_batches": ["batch_id", "currency", "balance_minor"],
    "fct_party_royalties_daily": ["party_id", "currency", "amount_minor"],
}
INTEGER_MONEY = {
    "fct_ledger_lines": ["amount_minor"],
    "fct_ledger_batches": ["debit_minor", "credit_minor", "balance_minor"],
    "fct_party_royalties_daily": ["amount_minor"],
}


@dataclass(frozen=True)
class ValidationOutcome:
    success: bool
    failures: list[str]
    evaluated: int


def validate_finance_tables(tables: dict[str, pl.DataFrame]) -> ValidationOutcome:
    """Run the finance suite over the export's tables; the outcome lists every failed expectation."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    source = context.data_sources.add_pandas("finance_export")
    failures, evaluated = [], 0
    for name, frame in tables.items():
        suite = gx.ExpectationSuite(name=f"finance_export.{name}")
        for column in NOT_NULL.get(name, []):
            suite.add_expectation(gx.expectations.ExpectColumnValuesToNotBeNull(column=column))
        for column in INTEGER_MONEY.get(name, []):
            suite.add_expectation(gx.expectations.ExpectColumnValuesToBeOfType(column=column, type_="int64"))
        if name == "fct_ledger_batches":
            suite.add_expectation(
                gx.expectations.ExpectColumnValuesToBeBetween(column="balance_minor", min_value=0, max_value=0)
            )
        if name == "fct_ledger_lines":
            suite.add_expectation(gx.expectations.ExpectColumnValuesToBeInSet(
                column="account", value_set=list(ACCOUNTS)))
            suite.add_expectation(gx.expectations.ExpectCompoundColumnsToBeUnique(column_list=["batch_id", "line_no"]))
        if not suite.expectations:
            continue
        batch = (source.add_dataframe_asset(name).add_batch_definition_whole_dataframe("all")
                 .get_batch(batch_parameters={"dataframe": frame.to_pandas()}))
        result = batch.validate(suite)
        evaluated += len(result.results)
        for r in result.results:
            if not r.success:
                config = r.expectation_config
                failures.append(f"{name}: {config.type} {dict(config.kwargs)} failed")
    return ValidationOutcome(not failures, failures, evaluated)
