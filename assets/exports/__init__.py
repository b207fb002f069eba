"""Exports: Parquet and DuckDB files for finance, validated before publication."""

from dagster import Definitions

from assets.exports.assets import finance_export

defs = Definitions(assets=[finance_export])
