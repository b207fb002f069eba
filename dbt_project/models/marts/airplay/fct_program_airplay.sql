-- grain: one row per station x program x day (play_date)
with plays as (
    select
        play_date,
        station_id,
        coalesce(program_id, 'UNSCHEDULED') as program_id,
        coalesce(program_name, 'Unscheduled') as program_name,
        program_attribution,
        track_id,
        duration_s
    from {{ ref('int_plays_enriched') }}
)

select
    {{ surrogate_key(['station_id', 'program_id', 'play_date']) }} as program_airplay_id,
    play_date,
    station_id,
    program_id,
    program_name,
    cast(sum(case when program_attribution = 'override' then 1 else 0 end) as bigint) as overridden_play_count,
    cast(count(*) as bigint) as play_count,
    cast(count(distinct track_id) as bigint) as track_count,
    cast(sum(duration_s) as bigint) as airplay_seconds
from plays
group by
    play_date,
    station_id,
    program_id,
    program_name
