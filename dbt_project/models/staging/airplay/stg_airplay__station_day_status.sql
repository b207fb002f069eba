-- grain: one row per station, UTC day and pipeline stage (what its day x shard partition did for it)
select
    {{ surrogate_key(['station_id', 'status_date', 'stage']) }} as station_day_status_id,
    cast(station_id as varchar) as station_id,
    cast(status_date as date) as status_date,
    cast(stage as varchar) as stage,
    cast(shard as varchar) as shard,
    cast(status as varchar) as status,
    cast(row_count as bigint) as row_count,
    cast(detail as varchar) as detail,
    cast(run_id as varchar) as run_id,
    cast(updated_at as timestamp) as updated_at_utc
from {{ source('airplay', 'station_day_status') }}
