-- grain: one row per dispute, at its current step
select
    cast(dispute_id as varchar) as dispute_id,
    cast(play_id as varchar) as play_id,
    cast(station_id as varchar) as station_id,
    cast(play_date as date) as play_date,
    cast(opened_by as varchar) as opened_by,
    cast(opened_at as timestamp) as opened_at,
    cast(status as varchar) as status,
    cast(resolution as varchar) as resolution,
    cast(updated_at as timestamp) as updated_at
from {{ source('royalties', 'disputes') }}
