-- grain: one row per rule finding on a split set
-- The source has no key: findings are numbered within their split set in a stable order.
with issues as (
    select
        cast(split_set_id as varchar) as split_set_id,
        cast(rule_code as varchar) as rule_code,
        cast(severity as varchar) as severity,
        cast(message as varchar) as message,
        cast(source_file as varchar) as source_file,
        cast(row_number as bigint) as source_row,
        cast(field as varchar) as field,
        cast(value as varchar) as value,
        cast(subject_type as varchar) as subject_type,
        cast(subject_id as varchar) as subject_id,
        cast(party_id as varchar) as party_id
    from {{ source('rights', 'validation_issues') }}
),

numbered as (
    select
        issues.*,
        row_number() over (
            partition by issues.split_set_id
            order by
                issues.rule_code, issues.source_row nulls first, issues.field nulls first, issues.value nulls first,
                issues.party_id nulls first, issues.message nulls first
        ) as issue_no
    from issues
)

select
    {{ surrogate_key(['split_set_id', 'issue_no']) }} as validation_issue_id,
    split_set_id,
    cast(issue_no as bigint) as issue_no,
    rule_code,
    severity,
    message,
    source_file,
    source_row,
    field,
    value,
    subject_type,
    subject_id,
    party_id
from numbered
