-- grain: one row per review task (a split set that needs a person)
with tasks as (
    select * from {{ ref('stg_rights__review_tasks') }}
),

issues as (
    select * from {{ ref('stg_rights__validation_issues') }}
),

issue_counts as (
    select
        split_set_id,
        cast(count(*) as bigint) as issue_count,
        cast(count(case when severity = 'error' then 1 end) as bigint) as error_count,
        cast(count(case when severity = 'warning' then 1 end) as bigint) as warning_count,
        cast(count(case when severity = 'info' then 1 end) as bigint) as info_count
    from issues
    group by split_set_id
),

issue_rules as (
    select
        split_set_id,
        string_agg(rule_code, ',' order by rule_code) as issue_rule_codes
    from (
        select distinct
            split_set_id,
            rule_code
        from issues
    ) as distinct_rules
    group by split_set_id
),

subjects as (
    select
        'work' as subject_type,
        work_id as subject_id,
        work_title as subject_title
    from {{ ref('stg_rights__works') }}
    union all
    select
        'recording' as subject_type,
        recording_id as subject_id,
        recording_title as subject_title
    from {{ ref('stg_rights__recordings') }}
)

select
    tasks.task_id,
    tasks.subject_type,
    tasks.subject_id,
    subjects.subject_title,
    tasks.status,
    tasks.status = 'open' as is_waiting_for_review,
    tasks.rule_codes,
    issue_rules.issue_rule_codes,
    coalesce(issue_counts.issue_count, 0) as issue_count,
    coalesce(issue_counts.error_count, 0) as error_count,
    coalesce(issue_counts.warning_count, 0) as warning_count,
    coalesce(issue_counts.info_count, 0) as info_count,
    tasks.source_file,
    tasks.decided_by,
    tasks.decided_at,
    tasks.note
from tasks
left join issue_counts on tasks.task_id = issue_counts.split_set_id
left join issue_rules on tasks.task_id = issue_rules.split_set_id
left join subjects
    on
        tasks.subject_type = subjects.subject_type
        and tasks.subject_id = subjects.subject_id
