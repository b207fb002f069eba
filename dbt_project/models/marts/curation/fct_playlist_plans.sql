-- grain: one row per plan day
with plans as (
    select * from {{ ref('stg_curation__playlist_plans') }}
),

snapshots_per_day as (
    select
        snapshot_date,
        cast(count(*) as bigint) as snapshot_playlist_count,
        cast(count(warning) as bigint) as short_playlist_count,
        cast(sum(track_count) as bigint) as snapshot_track_count
    from {{ ref('stg_curation__snapshot_playlists') }}
    group by snapshot_date
),

syncs_per_day as (
    select
        sync_date,
        cast(count(case when status = 'synced' then 1 end) as bigint) as synced_playlist_count,
        cast(count(case when status <> 'synced' then 1 end) as bigint) as unsynced_playlist_count
    from {{ ref('stg_curation__playlist_sync') }}
    group by sync_date
)

select
    plans.plan_date,
    plans.usable_track_count,
    plans.matching_track_count,
    plans.p_star,
    plans.account_capacity,
    plans.playlist_floor,
    plans.planned_playlist_count,
    plans.assigned_playlist_count,
    plans.planned_playlist_count - plans.assigned_playlist_count as unassigned_playlist_count,
    plans.active_account_count,
    plans.moved_playlist_count,
    plans.limited_by,
    coalesce(snapshots_per_day.snapshot_playlist_count, 0) as snapshot_playlist_count,
    coalesce(snapshots_per_day.short_playlist_count, 0) as short_playlist_count,
    coalesce(snapshots_per_day.snapshot_track_count, 0) as snapshot_track_count,
    coalesce(syncs_per_day.synced_playlist_count, 0) as synced_playlist_count,
    coalesce(syncs_per_day.unsynced_playlist_count, 0) as unsynced_playlist_count,
    plans.stats_json,
    plans.batch_tag
from plans
left join snapshots_per_day on plans.plan_date = snapshots_per_day.snapshot_date
left join syncs_per_day on plans.plan_date = syncs_per_day.sync_date
