-- grain: one row per captured 30 s chunk of a station's stream
select
    cast(chunk_id as varchar) as chunk_id,
    cast(station_id as varchar) as station_id,
    cast(chunk_date as date) as chunk_date,
    cast(start_utc as timestamp) as started_at_utc,
    cast(duration_s as double precision) as duration_s,
    cast(format as varchar) as audio_format,
    cast(size_bytes as bigint) as size_bytes
from {{ source('airplay', 'stream_chunks') }}
