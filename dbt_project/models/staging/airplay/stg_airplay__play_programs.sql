-- grain: one row per detected play
select
    cast(play_id as varchar) as play_id,
    cast(station_id as varchar) as station_id,
    cast(play_date as date) as play_date,
    cast(program_id as varchar) as program_id,
    cast(program_name as varchar) as program_name,
    cast(attribution as varchar) as program_attribution,
    cast(override_by as varchar) as program_override_by,
    cast(override_at as timestamp) as program_override_at_utc
from {{ source('airplay', 'play_programs') }}
