-- grain: one row per track (recording)
select
    cast(track_id as varchar) as track_id,
    cast(isrc as varchar) as isrc,
    cast(title as varchar) as track_title,
    cast(artist_id as varchar) as artist_id,
    cast(album as varchar) as album_title,
    cast(release_date as date) as release_date,
    cast(duration_ms as bigint) as duration_ms,
    cast(genre as varchar) as genre,
    cast(explicit as boolean) as is_explicit,
    cast(popularity as bigint) as popularity,
    cast(work_id as varchar) as work_id,
    cast(audio_path as varchar) as audio_path,
    cast(ingested_at as timestamp) as ingested_at
from {{ source('catalog', 'tracks') }}
