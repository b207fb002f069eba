-- grain: one row per payout request
with payouts as (
    select * from {{ ref('stg_royalties__payouts') }}
),

parties as (
    select * from {{ ref('stg_rights__parties') }}
),

-- what the payout batch moved out of the party's balance (a payout debits party_payable)
posted as (
    select
        batch_id,
        cast(sum(amount_minor) as bigint) as posted_minor
    from {{ ref('fct_ledger_lines') }}
    where
        entry_kind = 'payout'
        and account = 'party_payable'
    group by batch_id
)

select
    payouts.payout_id,
    payouts.party_id,
    parties.party_name,
    payouts.currency,
    payouts.amount_minor,
    payouts.status,
    payouts.status = 'paid' as is_paid,
    payouts.requested_on,
    substring(cast(payouts.requested_on as varchar), 1, 7) as requested_period,
    payouts.paid_on,
    substring(cast(payouts.paid_on as varchar), 1, 7) as paid_period,
    cast(payouts.paid_on - payouts.requested_on as bigint) as days_to_pay,
    payouts.decided_by,
    payouts.note,
    payouts.batch_id,
    posted.posted_minor
from payouts
left join parties on payouts.party_id = parties.party_id
left join posted on payouts.batch_id = posted.batch_id
