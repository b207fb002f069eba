-- grain: one row per stretch of air time that capture missed on a station
select
    {{ surrogate_key(['station_id', 'gap_start_utc']) }} as capture_gap_id,
    cast(station_id as varchar) as station_id,
    cast(gap_date as date) as gap_date,
    cast(gap_start_utc as timestamp) as gap_started_at_utc,
    cast(gap_end_utc as timestamp) as gap_ended_at_utc,
    cast(seconds as double precision) as gap_seconds,
    cast(reason as varchar) as reason,
    cast(attempts as bigint) as attempts
from {{ source('airplay', 'capture_gaps') }}
