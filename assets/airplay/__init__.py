"""Airplay: radio chunks matched against catalog fingerprints, merged into plays per station and day; the daily
chain that runs each station-day and the sensor that starts it when chunks land."""

from dagster import Definitions

from assets.airplay.assets import airplay_stations, detections, playlogs, reference_fingerprints, stream_chunks
from assets.airplay.checks import (
    detections_are_unique_and_known,
    fingerprint_index_covers_catalog_audio,
    playlogs_have_known_tracks,
    playlogs_within_partition,
    stream_chunks_are_unique_and_ordered,
)
from assets.airplay.jobs import station_day_job
from assets.airplay.programs import play_programs, program_overrides, program_schedule
from assets.airplay.schedules import daily_chain_schedule
from assets.airplay.sensors import landing_chunks_sensor

defs = Definitions(
    assets=[
        airplay_stations,
        reference_fingerprints,
        stream_chunks,
        detections,
        playlogs,
        program_schedule,
        program_overrides,
        play_programs,
    ],
    asset_checks=[
        stream_chunks_are_unique_and_ordered,
        detections_are_unique_and_known,
        playlogs_within_partition,
        playlogs_have_known_tracks,
        fingerprint_index_covers_catalog_audio,
    ],
    jobs=[station_day_job],
    schedules=[daily_chain_schedule],
    sensors=[landing_chunks_sensor],
)
