-- grain: one row per split set that needs a person (review task)
select
    cast(task_id as varchar) as task_id,
    cast(subject_type as varchar) as subject_type,
    cast(subject_id as varchar) as subject_id,
    cast(status as varchar) as status,
    cast(rule_codes as varchar) as rule_codes,
    cast(source_file as varchar) as source_file,
    cast(decided_by as varchar) as decided_by,
    cast(decided_at as timestamp) as decided_at,
    cast(note as varchar) as note
from {{ source('rights', 'review_tasks') }}
