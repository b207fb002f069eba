-- grain: one row per recording known to the rights files
select
    cast(recording_id as varchar) as recording_id,
    cast(isrc as varchar) as isrc,
    cast(work_id as varchar) as work_id,
    cast(title as varchar) as recording_title
from {{ source('rights', 'recordings') }}
