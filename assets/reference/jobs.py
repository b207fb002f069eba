"""The reference data job: everything plays are matched and paid against, across the domains that own it."""

from dagster import AssetSelection, define_asset_job

from assets.common.keys import (
    AIRPLAY_PROGRAM_OVERRIDES,
    AIRPLAY_PROGRAM_SCHEDULE,
    AIRPLAY_REFERENCE_FINGERPRINTS,
    AIRPLAY_STATIONS,
    ANALYTICS_PREFIX,
    OUTREACH_CONTACTS,
    ROYALTIES_TARIFFS,
)

REFERENCE_GROUPS = ("catalog", "rights")

reference_data_job = define_asset_job(
    "reference_data_job",
    selection=(AssetSelection.groups(*REFERENCE_GROUPS) - AssetSelection.key_prefixes(ANALYTICS_PREFIX))
    | AssetSelection.assets(
        AIRPLAY_STATIONS,
        AIRPLAY_REFERENCE_FINGERPRINTS,
        AIRPLAY_PROGRAM_SCHEDULE,
        AIRPLAY_PROGRAM_OVERRIDES,
        ROYALTIES_TARIFFS,
        OUTREACH_CONTACTS,
    ),
    description="Catalog, rights, stations, tariffs, fingerprints and contacts: the reference data plays are "
    "matched and paid against.",
)
