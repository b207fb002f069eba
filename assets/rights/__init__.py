"""Rights: split sheets read and validated by rules, reviewed, and the approved splits that decide who is paid."""

from dagster import Definitions

from assets.rights.assets import rights_contracts, split_set_review, split_sheet_intake, validation_rules
from assets.rights.checks import (
    approved_splits_name_known_parties,
    approved_splits_sum_to_full_share,
    no_split_sets_await_review,
)

defs = Definitions(
    assets=[validation_rules, split_sheet_intake, split_set_review, rights_contracts],
    asset_checks=[approved_splits_sum_to_full_share, approved_splits_name_known_parties, no_split_sets_await_review],
)
