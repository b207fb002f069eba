-- grain: one row per party x currency x accounting period (month); suspense and hold are the pseudo-parties
-- 'SUSPENSE' and 'HOLD', as in fct_party_royalties_daily. Lines count in the month they are reported in
-- (accounting_period): a late correction or a late play counts in the open month it was booked in.
with lines as (
    select
        case
            when account = 'suspense' then 'SUSPENSE'
            when account = 'hold' then 'HOLD'
            else party_id
        end as party_id,
        case
            when account = 'suspense' then 'Suspense (no approved split)'
            when account = 'hold' then 'Hold (disputed plays)'
            else party_name
        end as party_name,
        account <> 'party_payable' as is_pseudo_party,
        currency,
        accounting_period,
        entry_kind,
        play_id,
        amount_minor
    from {{ ref('fct_ledger_lines') }}
    where account in ('party_payable', 'suspense', 'hold')
),

monthly as (
    select
        party_id,
        party_name,
        is_pseudo_party,
        currency,
        accounting_period,
        cast(accounting_period || '-01' as date) as period_start,
        -- credits are negative; earnings are shown positive, net of reversals
        cast(-sum(case when entry_kind <> 'payout' then amount_minor else 0 end) as bigint) as earnings_minor,
        cast(sum(case when entry_kind = 'payout' then amount_minor else 0 end) as bigint) as payouts_minor,
        cast(count(distinct case when entry_kind <> 'payout' then play_id end) as bigint) as play_count
    from lines
    group by party_id, party_name, is_pseudo_party, currency, accounting_period
),

ranked as (
    select
        party_id,
        party_name,
        currency,
        accounting_period,
        period_start,
        earnings_minor,
        payouts_minor,
        play_count,
        -- only real parties are ranked: SUSPENSE and HOLD keep money for rights holders, they are not one
        case
            when not is_pseudo_party
                then cast(
                    rank()
                        over (
                            partition by accounting_period, currency, is_pseudo_party
                            order by earnings_minor desc
                        )
                    as bigint
                )
        end as earnings_rank
    from monthly
)

select
    {{ surrogate_key(['this_month.party_id', 'this_month.currency', 'this_month.accounting_period']) }}
        as party_royalty_monthly_id,
    this_month.accounting_period,
    this_month.period_start,
    this_month.party_id,
    this_month.party_name,
    this_month.currency,
    this_month.earnings_minor,
    this_month.payouts_minor,
    this_month.play_count,
    this_month.earnings_rank,
    previous_month.earnings_minor as previous_earnings_minor,
    {{ growth('this_month.earnings_minor', 'previous_month.earnings_minor') }} as earnings_growth
from ranked as this_month
left join ranked as previous_month
    on
        this_month.party_id = previous_month.party_id
        and this_month.currency = previous_month.currency
        and this_month.period_start = cast({{ dbt.dateadd('month', 1, 'previous_month.period_start') }} as date)
