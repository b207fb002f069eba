-- grain: one row per party x currency x play day (posted_for); suspense and hold are the pseudo-parties
-- 'SUSPENSE' and 'HOLD'. Amounts are net over every revision (reversals cancel); payouts are left out.
with earning_lines as (
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
        currency,
        posted_for,
        play_id,
        amount_minor
    from {{ ref('fct_ledger_lines') }}
    where
        account in ('party_payable', 'suspense', 'hold')
        and entry_kind <> 'payout'
),

-- net per play first: a play whose credit to a party was reversed (and not re-posted) earns it nothing
play_earnings as (
    select
        party_id,
        party_name,
        currency,
        posted_for,
        play_id,
        -- credits are negative; earnings are shown positive
        cast(-sum(amount_minor) as bigint) as amount_minor,
        cast(count(*) as bigint) as line_count
    from earning_lines
    group by party_id, party_name, currency, posted_for, play_id
)

select
    {{ surrogate_key(['party_id', 'currency', 'posted_for']) }} as party_royalty_daily_id,
    party_id,
    party_name,
    currency,
    posted_for,
    cast(sum(amount_minor) as bigint) as amount_minor,
    cast(count(distinct play_id) as bigint) as play_count,
    cast(sum(line_count) as bigint) as line_count
from play_earnings
where amount_minor <> 0
group by party_id, party_name, currency, posted_for
