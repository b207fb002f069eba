-- grain: one row per statement: period (month) x party x currency
select
    {{ surrogate_key(['period', 'party_id', 'currency']) }} as party_statement_id,
    cast(period as varchar) as period,
    cast(party_id as varchar) as party_id,
    cast(currency as varchar) as currency,
    cast(opening_minor as bigint) as opening_minor,
    cast(earnings_minor as bigint) as earnings_minor,
    cast(adjustments_minor as bigint) as adjustments_minor,
    cast(payouts_minor as bigint) as payouts_minor,
    cast(closing_minor as bigint) as closing_minor,
    cast(held_minor as bigint) as held_minor
from {{ source('royalties', 'party_statements') }}
