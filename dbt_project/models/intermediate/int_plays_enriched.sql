-- grain: one row per detected play, with its track, artist, work and station attributes
with plays as (
    select * from {{ ref('stg_airplay__plays') }}
),

tracks as (
    select * from {{ ref('stg_catalog__tracks') }}
),

artists as (
    select * from {{ ref('stg_catalog__artists') }}
),

works as (
    select * from {{ ref('stg_rights__works') }}
),

stations as (
    select * from {{ ref('stg_airplay__stations') }}
),

programs as (
    select * from {{ ref('stg_airplay__play_programs') }}
)

select
    plays.play_id,
    plays.play_date,
    plays.started_at_utc,
    plays.ended_at_utc,
    plays.duration_s,
    plays.confidence,
    plays.detection_count,
    plays.playback_speed,
    plays.runner_up_track_id,
    plays.runner_up_confidence,
    plays.aired_at_utc,
    plays.station_id,
    stations.station_name,
    plays.track_id,
    tracks.track_title,
    tracks.isrc,
    tracks.artist_id,
    artists.artist_name,
    tracks.work_id,
    works.iswc,
    programs.program_id,
    programs.program_name,
    coalesce(programs.program_attribution, 'unscheduled') as program_attribution
from plays
-- left joins: a play on an unknown track or station is kept (and flagged by relationship tests)
left join tracks on plays.track_id = tracks.track_id
left join artists on tracks.artist_id = artists.artist_id
left join works on tracks.work_id = works.work_id
left join stations on plays.station_id = stations.station_id
left join programs on plays.play_id = programs.play_id
