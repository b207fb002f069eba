-- grain: one row per sync date x account x playlist
select
    {{ surrogate_key(['sync_date', 'account_id', 'playlist_id']) }} as playlist_sync_id,
    -- the snapshot the sync published (curation.snapshot_playlists)
    {{ surrogate_key(['sync_date', 'playlist_id']) }} as snapshot_playlist_id,
    cast(sync_date as date) as sync_date,
    cast(account_id as varchar) as account_id,
    cast(playlist_id as varchar) as playlist_id,
    cast(global_index as bigint) as global_index,
    cast(playlist_name as varchar) as playlist_name,
    cast(spotify_playlist_id as varchar) as spotify_playlist_id,
    cast(spotify_url as varchar) as spotify_url,
    cast(status as varchar) as status,
    cast(action as varchar) as action,
    cast(error as varchar) as error,
    cast(tracks_sent as bigint) as tracks_sent,
    cast(tracks_skipped as bigint) as tracks_skipped,
    cast(previous_playlist_id as varchar) as previous_spotify_playlist_id,
    cast(export_m3u as varchar) as export_m3u_path,
    cast(export_csv as varchar) as export_csv_path,
    cast(requests as bigint) as request_count,
    cast(synced_at as timestamp) as synced_at
from {{ source('curation', 'playlist_sync') }}
