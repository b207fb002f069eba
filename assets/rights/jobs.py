"""Rights' job: split sheets, party register and contracts read, validated, reviewed, applied."""

from dagster import AssetSelection, define_asset_job

from assets.common.keys import ANALYTICS_PREFIX

rights_job = define_asset_job(
    "rights_job",
    selection=AssetSelection.groups("rights") - AssetSelection.key_prefixes(ANALYTICS_PREFIX),  # not the dbt marts
    description="Split sheets, party register and contracts read, validated by the rules, reviewed decisions "
    "applied: the approved splits that move money.",
)
