"""Rights: works, parties and the approved splits that decide who is paid for a play."""

from dagster import Definitions

from assets.rights.assets import rights_from_split_sheets
from assets.rights.checks import approved_splits_sum_to_full_share

defs = Definitions(assets=[rights_from_split_sheets], asset_checks=[approved_splits_sum_to_full_share])
