"""Catalog: artists and recordings, the reference everything downstream is matched and paid against; albums
from Spotify and recordings from MusicBrainz, resolved into golden recordings; audio features and the
Rekordbox export; the album queue's ingest job and the sensor that repeats it while work remains."""

from dagster import Definitions

from assets.catalog.assets import (
    album_queue,
    audio_features,
    catalog_artists,
    catalog_tracks,
    golden_recordings,
    musicbrainz_recordings,
    rekordbox_export,
    spotify_recordings,
    tracks_have_unique_ids_and_isrcs,
)
from assets.catalog.checks import CATALOG_CHECKS
from assets.catalog.jobs import catalog_ingest_job
from assets.catalog.sensors import album_queue_sensor

defs = Definitions(
    assets=[
        catalog_artists,
        catalog_tracks,
        album_queue,
        spotify_recordings,
        musicbrainz_recordings,
        audio_features,
        golden_recordings,
        rekordbox_export,
    ],
    asset_checks=[tracks_have_unique_ids_and_isrcs, *CATALOG_CHECKS],
    jobs=[catalog_ingest_job],
    sensors=[album_queue_sensor],
)
