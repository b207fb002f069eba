-- grain: one row per party x currency x day (posted_for); suspense is the pseudo-party 'SUSPENSE'
with earning_lines as (
    select
        case when account = 'suspense' then 'SUSPENSE' else party_id end as party_id,
        case when account = 'suspense' then 'Suspense (no approved split)' else party_name end as party_name,
        currency,
        posted_for,
        play_id,
        amount_minor
    from {{ ref('fct_ledger_lines') }}
    where account in ('party_payable', 'suspense')
)

select
    {{ surrogate_key(['party_id', 'currency', 'posted_for']) }} as party_royalty_daily_id,
    party_id,
    party_name,
    currency,
    posted_for,
    -- payable/suspense lines are credits (negative); earnings are shown positive
    cast(-sum(amount_minor) as bigint) as amount_minor,
    cast(count(distinct play_id) as bigint) as play_count,
    cast(count(*) as bigint) as line_count
from earning_lines
group by party_id, party_name, currency, posted_for
