"""Royalties: tariffs and the double-entry ledger that pays every play exactly once."""

from dagster import Definitions

from assets.royalties.assets import royalty_ledger, tariffs
from assets.royalties.checks import (
    ledger_batches_balance,
    ledger_chain_intact,
    ledger_pays_every_play_once,
    ledger_reversals_negate_their_batches,
)

defs = Definitions(
    assets=[tariffs, royalty_ledger],
    asset_checks=[
        ledger_batches_balance,
        ledger_pays_every_play_once,
        ledger_reversals_negate_their_batches,
        ledger_chain_intact,
    ],
)
