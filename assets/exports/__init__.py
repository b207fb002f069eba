"""Exports: Parquet and DuckDB files for finance, staged, validated by a blocking check, then published."""

from dagster import Definitions

from assets.exports.assets import finance_export, finance_export_meets_expectations, staged_finance_export

defs = Definitions(assets=[staged_finance_export, finance_export], asset_checks=[finance_export_meets_expectations])
