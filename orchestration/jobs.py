"""Jobs: reference data, the daily station chain, analytics, curation."""

from dagster import AssetSelection, define_asset_job

REFERENCE_GROUPS = ("catalog", "rights")

reference_data_job = define_asset_job(
    "reference_data_job",
    selection=AssetSelection.groups(*REFERENCE_GROUPS)
    | AssetSelection.assets(
        ["airplay", "stations"], ["airplay", "reference_fingerprints"], ["airplay", "program_schedule"],
        ["airplay", "program_overrides"], ["royalties", "tariffs"], ["outreach", "contacts"],
    ),
    description="Catalog, rights, stations, tariffs, fingerprints and contacts: the reference data plays are "
    "matched and paid against.",
)

station_day_job = define_asset_job(
    "station_day_job",
    selection=AssetSelection.assets(["airplay", "stream_chunks"], ["airplay", "detections"], ["airplay", "playlogs"],
                                    ["airplay", "play_programs"], ["royalties", "royalty_ledger"]),
    description="One station-day: chunks → detections → plays (and their programmes) → ledger batch.",
)

analytics_job = define_asset_job(
    "analytics_job",
    selection=AssetSelection.groups("analytics") | AssetSelection.assets(["exports", "finance_export"]),
    description="dbt staging and marts, then the validated finance export.",
)

curation_job = define_asset_job(
    "curation_job",
    selection=AssetSelection.assets(["curation", "playlist_snapshots"]),
    description="Daily playlist snapshots.",
)
