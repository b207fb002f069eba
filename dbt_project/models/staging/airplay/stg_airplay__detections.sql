-- grain: one row per chunk x catalog track the matcher heard in it
select
    {{ surrogate_key(['chunk_id', 'track_id']) }} as detection_id,
    cast(chunk_id as varchar) as chunk_id,
    cast(station_id as varchar) as station_id,
    cast(chunk_date as date) as chunk_date,
    cast(chunk_start_utc as timestamp) as chunk_started_at_utc,
    cast(track_id as varchar) as track_id,
    cast(confidence as double precision) as confidence
from {{ source('airplay', 'detections') }}
