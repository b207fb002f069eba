-- grain: one row per detected play
select
    cast(play_id as varchar) as play_id,
    cast(station_id as varchar) as station_id,
    cast(track_id as varchar) as track_id,
    cast(play_date as date) as play_date,
    cast(start_utc as timestamp) as started_at_utc,
    cast(end_utc as timestamp) as ended_at_utc,
    cast(duration_s as bigint) as duration_s,
    cast(confidence as double precision) as confidence,
    cast(detection_count as bigint) as detection_count,
    cast(speed as double precision) as playback_speed,
    cast(runner_up_track_id as varchar) as runner_up_track_id,
    cast(runner_up_confidence as double precision) as runner_up_confidence,
    cast(aired_start_utc as timestamp) as aired_at_utc
from {{ source('airplay', 'playlogs') }}
