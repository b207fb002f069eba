-- grain: one row per snapshot date x playlist
select
    {{ surrogate_key(['snapshot_date', 'playlist_id']) }} as snapshot_playlist_id,
    cast(snapshot_date as date) as snapshot_date,
    cast(playlist_id as varchar) as playlist_id,
    cast(policy_id as varchar) as policy_id,
    cast(theme as varchar) as theme,
    cast(global_index as bigint) as global_index,
    cast(target_size as bigint) as target_size,
    cast(tracks as bigint) as track_count,
    cast(repeat_gap_days as bigint) as repeat_gap_days,
    cast(max_per_artist as bigint) as max_per_artist,
    cast(max_per_album as bigint) as max_per_album,
    cast(ordering as varchar) as ordering,
    cast(pool_tracks as bigint) as pool_track_count,
    cast(available_tracks as bigint) as available_track_count,
    cast(adjacent_same_artist as bigint) as adjacent_same_artist_count,
    cast(warning as varchar) as warning,
    cast(batch_tag as varchar) as batch_tag
from {{ source('curation', 'snapshot_playlists') }}
