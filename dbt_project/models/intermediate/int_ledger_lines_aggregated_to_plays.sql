-- grain: one row per play that has ledger lines (a play is priced in one currency)
with ledger_lines as (
    select * from {{ ref('stg_royalties__ledger_lines') }}
    where play_id is not null
)

select
    play_id,
    currency,
    cast(sum(case when account = 'station_receivable' then amount_minor else 0 end) as bigint)
        as receivable_minor,
    -- credits are stored negative; shown here as positive amounts earned
    cast(-sum(case when account = 'party_payable' then amount_minor else 0 end) as bigint)
        as party_payable_minor,
    cast(-sum(case when account = 'suspense' then amount_minor else 0 end) as bigint)
        as suspense_minor,
    cast(count(case when account = 'suspense' then 1 end) as bigint) as suspense_line_count,
    cast(count(*) as bigint) as line_count
from ledger_lines
group by play_id, currency
