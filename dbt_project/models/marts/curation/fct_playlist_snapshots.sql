-- grain: one row per snapshot date x playlist x position
with snapshots as (
    select * from {{ ref('stg_curation__playlist_snapshots') }}
),

tracks as (
    select * from {{ ref('dim_tracks') }}
)

select
    snapshots.playlist_snapshot_entry_id,
    snapshots.snapshot_date,
    snapshots.playlist_id,
    snapshots.position,
    snapshots.track_id,
    tracks.track_title,
    tracks.artist_id,
    tracks.artist_name,
    tracks.track_id is not null as is_in_catalog,
    snapshots.batch_tag
from snapshots
left join tracks on snapshots.track_id = tracks.track_id
