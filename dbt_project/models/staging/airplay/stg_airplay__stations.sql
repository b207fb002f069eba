-- grain: one row per monitored station
select
    cast(station_id as varchar) as station_id,
    cast(name as varchar) as station_name,
    cast(stream_url as varchar) as stream_url,
    cast(active as boolean) as is_active,
    cast(timezone as varchar) as timezone
from {{ source('airplay', 'stations') }}
