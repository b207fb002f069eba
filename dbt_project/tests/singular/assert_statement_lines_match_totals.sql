{{ config(meta={'dagster': {'ref': {'name': 'fct_party_statements'}}}) }}
-- A statement's detail lines add up to its totals: earnings, adjustments and payouts by line type.
-- Returns the statements (from either side) where they do not.
with line_totals as (
    select
        party_statement_id,
        cast(sum(case when line_type = 'earnings' then amount_minor else 0 end) as bigint) as earnings_minor,
        cast(sum(case when line_type = 'adjustment' then amount_minor else 0 end) as bigint) as adjustments_minor,
        cast(sum(case when line_type = 'payout' then amount_minor else 0 end) as bigint) as payouts_minor
    from {{ ref('stg_royalties__statement_lines') }}
    group by party_statement_id
),

statements as (
    select * from {{ ref('fct_party_statements') }}
)

select
    statements.party_statement_id,
    statements.earnings_minor,
    line_totals.earnings_minor as line_earnings_minor,
    statements.adjustments_minor,
    line_totals.adjustments_minor as line_adjustments_minor,
    statements.payouts_minor,
    line_totals.payouts_minor as line_payouts_minor
from statements
left join line_totals on statements.party_statement_id = line_totals.party_statement_id
where coalesce(statements.earnings_minor, 0) <> coalesce(line_totals.earnings_minor, 0)
    or coalesce(statements.adjustments_minor, 0) <> coalesce(line_totals.adjustments_minor, 0)
    or coalesce(statements.payouts_minor, 0) <> coalesce(line_totals.payouts_minor, 0)
