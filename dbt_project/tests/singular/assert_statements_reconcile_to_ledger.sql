-- A statement's closing is the party's party_payable balance in the ledger up to the end of its period,
-- and its held amount the party's hold balance (credits are negative in the ledger, owed is positive).
-- Warn only: statements are issued monthly, the ledger keeps growing between issues.
{{ config(severity='warn', meta={'dagster': {'ref': {'name': 'fct_party_statements'}}}) }}

with statements as (
    select * from {{ ref('fct_party_statements') }}
),

balances as (
    select
        statements.party_statement_id,
        cast(-sum(case when lines.account = 'party_payable' then lines.amount_minor else 0 end) as bigint)
            as ledger_payable_minor,
        cast(-sum(case when lines.account = 'hold' then lines.amount_minor else 0 end) as bigint)
            as ledger_hold_minor
    from statements
    inner join {{ ref('stg_royalties__ledger_lines') }} as lines
        on lines.party_id = statements.party_id
        and lines.currency = statements.currency
        and lines.accounting_period <= statements.period
    group by statements.party_statement_id
)

select
    statements.party_statement_id,
    statements.closing_minor,
    coalesce(balances.ledger_payable_minor, 0) as ledger_payable_minor,
    statements.held_minor,
    coalesce(balances.ledger_hold_minor, 0) as ledger_hold_minor
from statements
left join balances on statements.party_statement_id = balances.party_statement_id
where coalesce(statements.closing_minor, 0) <> coalesce(balances.ledger_payable_minor, 0)
    or coalesce(statements.held_minor, 0) <> coalesce(balances.ledger_hold_minor, 0)
