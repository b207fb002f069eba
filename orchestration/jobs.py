"""Jobs: reference data, the daily station chain, rights and royalty corrections, statements, analytics, curation."""

from dagster import AssetSelection, define_asset_job

REFERENCE_GROUPS = ("catalog", "rights")

reference_data_job = define_asset_job(
    "reference_data_job",
    selection=(AssetSelection.groups(*REFERENCE_GROUPS) - AssetSelection.key_prefixes("analytics"))
    | AssetSelection.assets(
        ["airplay", "stations"],
        ["airplay", "reference_fingerprints"],
        ["airplay", "program_schedule"],
        ["airplay", "program_overrides"],
        ["royalties", "tariffs"],
        ["outreach", "contacts"],
    ),
    description="Catalog, rights, stations, tariffs, fingerprints and contacts: the reference data plays are "
    "matched and paid against.",
)

station_day_job = define_asset_job(
    "station_day_job",
    selection=AssetSelection.assets(
        ["airplay", "stream_chunks"],
        ["airplay", "detections"],
        ["airplay", "playlogs"],
        ["airplay", "play_programs"],
        ["royalties", "royalty_ledger"],
    ).required_multi_asset_neighbors(),  # the tables written in the same step (royalties/ledger_batches)
    description="One station-day: chunks → detections → plays (and their programmes) → ledger batch.",
)

analytics_job = define_asset_job(
    "analytics_job",
    selection=AssetSelection.key_prefixes("analytics")
    | AssetSelection.assets(["exports", "staged_finance_export"], ["exports", "finance_export"]),
    description="dbt staging and marts, then the finance export: staged, validated (a blocking check), published.",
)

curation_job = define_asset_job(
    "curation_job",
    selection=AssetSelection.assets(
        ["curation", "playlist_plan"], ["curation", "playlist_snapshots"], ["curation", "playlist_sync"]
    ).required_multi_asset_neighbors(),
    description="One curated day: the scaling plan, every playlist's snapshot, and its sync to Spotify accounts "
    "(or a file export where an account refuses).",
)

rights_job = define_asset_job(
    "rights_job",
    selection=AssetSelection.groups("rights") - AssetSelection.key_prefixes("analytics"),  # not the dbt marts
    description="Split sheets, party register and contracts read, validated by the rules, reviewed decisions "
    "applied: the approved splits that move money.",
)

royalty_adjustments_job = define_asset_job(
    "royalty_adjustments_job",
    selection=AssetSelection.assets(["royalties", "disputes"], ["royalties", "payouts"]),
    description="Dispute steps and payout requests read from the royalties inbox; paid payouts posted.",
)

ledger_restatement_job = define_asset_job(
    "ledger_restatement_job",
    selection=AssetSelection.assets(["royalties", "royalty_ledger"]).required_multi_asset_neighbors(),
    description="Re-post one station-day's royalty batch after an upstream change: a reversal and a corrected "
    "revision where what should be paid changed, nothing where it did not.",
)

monthly_statements_job = define_asset_job(
    "monthly_statements_job",
    selection=AssetSelection.assets(
        ["royalties", "party_statements"],
        ["exports", "staged_monthly_finance_export"],
        ["exports", "monthly_finance_export"],
    ).required_multi_asset_neighbors(),
    description="One month's party statements and the month's finance export.",
)
