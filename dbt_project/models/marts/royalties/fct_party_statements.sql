-- grain: one row per statement: period (month) x party x currency
with statements as (
    select * from {{ ref('stg_royalties__party_statements') }}
),

parties as (
    select * from {{ ref('stg_rights__parties') }}
),

statement_lines as (
    select
        party_statement_id,
        cast(count(*) as bigint) as statement_line_count,
        cast(sum(coalesce(play_count, 0)) as bigint) as play_count
    from {{ ref('stg_royalties__statement_lines') }}
    group by party_statement_id
),

numbered as (
    select
        party_statement_id,
        party_id,
        currency,
        period,
        closing_minor,
        cast(substring(period, 1, 4) as integer) * 12 + cast(substring(period, 6, 2) as integer) as month_no
    from statements
),

-- the statement of the month before, same party and currency; a month without one breaks no chain
chained as (
    select
        party_statement_id,
        case
            when lag(month_no) over (partition by party_id, currency order by period) = month_no - 1
                then lag(closing_minor) over (partition by party_id, currency order by period)
        end as previous_closing_minor
    from numbered
)

select
    statements.party_statement_id,
    statements.period,
    statements.party_id,
    parties.party_name,
    statements.currency,
    statements.opening_minor,
    statements.earnings_minor,
    statements.adjustments_minor,
    statements.payouts_minor,
    statements.closing_minor,
    chained.previous_closing_minor,
    statements.opening_minor = chained.previous_closing_minor as opens_on_previous_closing,
    statements.held_minor,
    coalesce(statement_lines.statement_line_count, 0) as statement_line_count,
    coalesce(statement_lines.play_count, 0) as play_count
from statements
left join parties on statements.party_id = parties.party_id
left join statement_lines on statements.party_statement_id = statement_lines.party_statement_id
left join chained on statements.party_statement_id = chained.party_statement_id
