-- grain: one row per snapshot date x playlist x position
select
    {{ surrogate_key(['snapshot_date', 'playlist_id', 'position']) }} as playlist_snapshot_entry_id,
    cast(snapshot_date as date) as snapshot_date,
    cast(playlist_id as varchar) as playlist_id,
    cast(position as bigint) as position,
    cast(track_id as varchar) as track_id,
    cast(batch_tag as varchar) as batch_tag
from {{ source('curation', 'playlist_snapshots') }}
