-- A party's statement opens with what its statement of the month before (same currency) closed with.
-- Only consecutive months are compared: a month whose statements were not issued breaks no chain.
with statements as (
    select
        party_statement_id,
        party_id,
        currency,
        period,
        opening_minor,
        closing_minor,
        cast(substring(period, 1, 4) as integer) * 12 + cast(substring(period, 6, 2) as integer) as month_no
    from {{ ref('fct_party_statements') }}
),

chained as (
    select
        statements.*,
        lag(month_no) over (partition by party_id, currency order by period) as previous_month_no,
        lag(closing_minor) over (partition by party_id, currency order by period) as previous_closing_minor
    from statements
)

select *
from chained
where previous_month_no = month_no - 1
    and coalesce(opening_minor, 0) <> coalesce(previous_closing_minor, 0)
