-- grain: one row per station x track x day (play_date)
with plays as (
    select * from {{ ref('int_plays_enriched') }}
)

select
    {{ surrogate_key(['station_id', 'track_id', 'play_date']) }} as daily_airplay_id,
    play_date,
    station_id,
    station_name,
    track_id,
    track_title,
    artist_id,
    artist_name,
    cast(count(*) as bigint) as play_count,
    cast(sum(duration_s) as bigint) as airplay_seconds
from plays
group by
    play_date,
    station_id,
    station_name,
    track_id,
    track_title,
    artist_id,
    artist_name
