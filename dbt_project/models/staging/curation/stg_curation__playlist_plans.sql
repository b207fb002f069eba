-- grain: one row per plan day
select
    cast(plan_date as date) as plan_date,
    cast(usable_tracks as bigint) as usable_track_count,
    cast(matching_tracks as bigint) as matching_track_count,
    cast(p_star as bigint) as p_star,
    cast(capacity as bigint) as account_capacity,
    cast(floor as bigint) as playlist_floor,
    cast(planned as bigint) as planned_playlist_count,
    cast(assigned as bigint) as assigned_playlist_count,
    cast(active_accounts as bigint) as active_account_count,
    cast(moves as bigint) as moved_playlist_count,
    cast(limited_by as varchar) as limited_by,
    cast(stats_json as varchar) as stats_json,
    cast(batch_tag as varchar) as batch_tag
from {{ source('curation', 'playlist_plans') }}
