"""Royalty disputes, payouts and monthly party statements, with their checks: one Definitions to merge."""

from dagster import Definitions

from assets.royalties.statement_assets import STATEMENT_ASSETS, STATEMENT_CHECKS

defs = Definitions(assets=STATEMENT_ASSETS, asset_checks=STATEMENT_CHECKS)
