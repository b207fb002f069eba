-- grain: one row per snapshot date x playlist x position
with snapshots as (
    select * from {{ ref('stg_curation__playlist_snapshots') }}
),

snapshot_playlists as (
    select * from {{ ref('stg_curation__snapshot_playlists') }}
),

-- the account hosting each playlist that day; a playlist is synced to one account per day, the row_number
-- only keeps the grain should a re-plan ever leave two
playlist_accounts as (
    select
        sync_date,
        playlist_id,
        account_id
    from (
        select
            sync_date,
            playlist_id,
            account_id,
            row_number() over (
                partition by sync_date, playlist_id
                order by case when status = 'synced' then 0 else 1 end, account_id
            ) as account_rank
        from {{ ref('stg_curation__playlist_sync') }}
    ) as ranked
    where account_rank = 1
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
    snapshots.batch_tag,
    snapshot_playlists.policy_id,
    snapshot_playlists.theme,
    snapshot_playlists.global_index,
    playlist_accounts.account_id
from snapshots
left join tracks on snapshots.track_id = tracks.track_id
left join snapshot_playlists
    on
        snapshots.snapshot_date = snapshot_playlists.snapshot_date
        and snapshots.playlist_id = snapshot_playlists.playlist_id
left join playlist_accounts
    on
        snapshots.snapshot_date = playlist_accounts.sync_date
        and snapshots.playlist_id = playlist_accounts.playlist_id
