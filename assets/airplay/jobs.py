"""Airplay's job: the daily chain of one station-day, from the captured chunks to the royalty batch they post.

It lives with airplay because a station-day starts here (its chunks land in `data/landing/`); it ends in the
royalty ledger, which is posted per station-day in the same run.
"""

from dagster import AssetSelection, define_asset_job

from assets.common.keys import (
    AIRPLAY_DETECTIONS,
    AIRPLAY_PLAY_PROGRAMS,
    AIRPLAY_PLAYLOGS,
    AIRPLAY_STREAM_CHUNKS,
    ROYALTIES_ROYALTY_LEDGER,
)

station_day_job = define_asset_job(
    "station_day_job",
    selection=AssetSelection.assets(
        AIRPLAY_STREAM_CHUNKS,
        AIRPLAY_DETECTIONS,
        AIRPLAY_PLAYLOGS,
        AIRPLAY_PLAY_PROGRAMS,
        ROYALTIES_ROYALTY_LEDGER,
    ).required_multi_asset_neighbors(),  # the tables written in the same step (royalties/ledger_batches)
    description="One station-day: chunks → detections → plays (and their programmes) → ledger batch.",
)
