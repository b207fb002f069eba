-- grain: one row per sync date x account x playlist (a sync attempt)
with sync as (
    select * from {{ ref('stg_curation__playlist_sync') }}
),

snapshot_playlists as (
    select * from {{ ref('stg_curation__snapshot_playlists') }}
)

select
    sync.playlist_sync_id,
    sync.sync_date,
    sync.account_id,
    sync.playlist_id,
    sync.global_index,
    snapshot_playlists.policy_id,
    snapshot_playlists.theme,
    sync.playlist_name,
    sync.status,
    sync.action,
    sync.status = 'synced' as is_synced,
    sync.error,
    sync.spotify_playlist_id,
    sync.spotify_url as playlist_url,
    sync.previous_spotify_playlist_id,
    snapshot_playlists.track_count as snapshot_track_count,
    sync.tracks_sent,
    sync.tracks_skipped,
    sync.export_m3u_path,
    sync.export_csv_path,
    sync.export_m3u_path is not null as has_file_export,
    sync.request_count,
    sync.synced_at
from sync
left join snapshot_playlists on sync.snapshot_playlist_id = snapshot_playlists.snapshot_playlist_id
