"""Analytics' job: the dbt staging views and marts, then the finance export built from them."""

from dagster import AssetSelection, define_asset_job

from assets.common.keys import ANALYTICS_PREFIX, EXPORTS_FINANCE_EXPORT, EXPORTS_STAGED_FINANCE_EXPORT

ANALYTICS_SELECTION = AssetSelection.key_prefixes(ANALYTICS_PREFIX) | AssetSelection.assets(
    EXPORTS_STAGED_FINANCE_EXPORT, EXPORTS_FINANCE_EXPORT
)
"""Every dbt model, and the daily finance export that reads the finance marts."""

analytics_job = define_asset_job(
    "analytics_job",
    selection=ANALYTICS_SELECTION,
    description="dbt staging and marts, then the finance export: staged, validated (a blocking check), published.",
)
