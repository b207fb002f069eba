"""Royalties: tariffs and the double-entry ledger that pays every play exactly once; disputes, payouts and monthly
party statements; the jobs, schedule and sensors that run them."""

from dagster import Definitions

from assets.royalties.assets import royalty_ledger, tariffs
from assets.royalties.checks import (
    ledger_batches_balance,
    ledger_chain_intact,
    ledger_pays_every_play_once,
    ledger_reversals_negate_their_batches,
)
from assets.royalties.contracts import contract_batches_balance, contract_ledger, contract_terms
from assets.royalties.disputes import disputes, disputes_follow_step_order
from assets.royalties.fx import fx_batches_balance, fx_ledger, fx_rates, payout_currencies
from assets.royalties.jobs import ledger_restatement_job, monthly_statements_job, royalty_adjustments_job
from assets.royalties.payouts import paid_payouts_are_posted_once, payouts
from assets.royalties.schedules import monthly_statements_schedule
from assets.royalties.sensors import ledger_restatement_sensor, royalties_inbox_sensor
from assets.royalties.statements import party_statements, party_statements_add_up, party_statements_carry_forward

defs = Definitions(
    assets=[
        tariffs,
        royalty_ledger,
        disputes,
        payouts,
        contract_terms,
        contract_ledger,
        fx_rates,
        payout_currencies,
        fx_ledger,
        party_statements,
    ],
    asset_checks=[
        ledger_batches_balance,
        ledger_pays_every_play_once,
        ledger_reversals_negate_their_batches,
        ledger_chain_intact,
        disputes_follow_step_order,
        paid_payouts_are_posted_once,
        party_statements_add_up,
        party_statements_carry_forward,
        contract_batches_balance,
        fx_batches_balance,
    ],
    jobs=[royalty_adjustments_job, ledger_restatement_job, monthly_statements_job],
    schedules=[monthly_statements_schedule],
    sensors=[royalties_inbox_sensor, ledger_restatement_sensor],
)
