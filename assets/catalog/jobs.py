"""Catalog's job: `catalog_ingest_job` drains a batch of the album queue (album_queue_sensor repeats it)."""

from dagster import AssetSelection, define_asset_job

from assets.common.keys import (
    CATALOG_ALBUM_QUEUE,
    CATALOG_GOLDEN_RECORDINGS,
    CATALOG_MUSICBRAINZ_RECORDINGS,
    CATALOG_RECORDING_DUPLICATES,
    CATALOG_RECORDING_LINKS,
    CATALOG_RESOLUTION_REVIEW,
    CATALOG_SPOTIFY_RECORDINGS,
)

CATALOG_INGEST_JOB = "catalog_ingest_job"

catalog_ingest_job = define_asset_job(
    CATALOG_INGEST_JOB,
    selection=AssetSelection.assets(
        CATALOG_ALBUM_QUEUE,
        CATALOG_SPOTIFY_RECORDINGS,
        CATALOG_MUSICBRAINZ_RECORDINGS,
        CATALOG_GOLDEN_RECORDINGS,
        CATALOG_RECORDING_LINKS,
        CATALOG_RESOLUTION_REVIEW,
        CATALOG_RECORDING_DUPLICATES,
    ),
    description="Album requests → queue; one batch of queued albums from Spotify and of ISRCs from MusicBrainz; "
    "golden recordings resolved again. album_queue_sensor repeats it while work remains.",
)
