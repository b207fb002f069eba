-- grain: one row per musical work
select
    cast(work_id as varchar) as work_id,
    cast(iswc as varchar) as iswc,
    cast(title as varchar) as work_title,
    cast(source_file as varchar) as source_file
from {{ source('rights', 'works') }}
