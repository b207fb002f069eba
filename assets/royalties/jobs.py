"""Royalties' jobs: corrections from the inbox, restatements of station-days, and the monthly statements.

`monthly_statements_job` lives here because a month starts with its party statements; the month's finance
export (exports/) is built from them in the same run.
"""

from dagster import AssetSelection, define_asset_job

from assets.common.keys import (
    EXPORTS_MONTHLY_FINANCE_EXPORT,
    EXPORTS_STAGED_MONTHLY_FINANCE_EXPORT,
    ROYALTIES_CONTRACT_LEDGER,
    ROYALTIES_DISPUTES,
    ROYALTIES_FX_LEDGER,
    ROYALTIES_PARTY_STATEMENTS,
    ROYALTIES_PAYOUTS,
    ROYALTIES_ROYALTY_LEDGER,
)

royalty_adjustments_job = define_asset_job(
    "royalty_adjustments_job",
    selection=AssetSelection.assets(ROYALTIES_DISPUTES, ROYALTIES_PAYOUTS),
    description="Dispute steps and payout requests read from the royalties inbox; paid payouts posted.",
)

ledger_restatement_job = define_asset_job(
    "ledger_restatement_job",
    selection=AssetSelection.assets(ROYALTIES_ROYALTY_LEDGER).required_multi_asset_neighbors(),
    description="Re-post one station-day's royalty batch after an upstream change: a reversal and a corrected "
    "revision where what should be paid changed, nothing where it did not.",
)

monthly_statements_job = define_asset_job(
    "monthly_statements_job",
    selection=AssetSelection.assets(
        ROYALTIES_CONTRACT_LEDGER,
        ROYALTIES_FX_LEDGER,
        ROYALTIES_PARTY_STATEMENTS,
        EXPORTS_STAGED_MONTHLY_FINANCE_EXPORT,
        EXPORTS_MONTHLY_FINANCE_EXPORT,
    ).required_multi_asset_neighbors(),
    description="One month's party statements and the month's finance export.",
)
