"""Rights: split sheets read and validated by rules, reviewed, and the approved splits that decide who is paid;
the job that applies them and the sensor that starts it when the rights inbox changes."""

from dagster import Definitions

from assets.rights.assets import rights_contracts, split_set_review, split_sheet_intake, validation_rules
from assets.rights.checks import (
    approved_splits_name_known_parties,
    approved_splits_sum_to_full_share,
    no_split_sets_await_review,
)
from assets.rights.jobs import rights_job
from assets.rights.sensors import rights_inbox_sensor

defs = Definitions(
    assets=[validation_rules, split_sheet_intake, split_set_review, rights_contracts],
    asset_checks=[approved_splits_sum_to_full_share, approved_splits_name_known_parties, no_split_sets_await_review],
    jobs=[rights_job],
    sensors=[rights_inbox_sensor],
)
