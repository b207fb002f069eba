"""Exports: Parquet and DuckDB files for finance, daily and monthly, each staged, validated by a blocking check,
then published."""

from dagster import Definitions

from assets.exports.assets import finance_export, finance_export_meets_expectations, staged_finance_export
from assets.exports.monthly import (
    monthly_finance_export,
    monthly_finance_export_is_complete,
    monthly_finance_export_meets_expectations,
    staged_monthly_finance_export,
)

defs = Definitions(
    assets=[staged_finance_export, finance_export, staged_monthly_finance_export, monthly_finance_export],
    asset_checks=[
        finance_export_meets_expectations,
        monthly_finance_export_meets_expectations,
        monthly_finance_export_is_complete,
    ],
)
