-- grain: one row per ledger batch x currency
with ledger_lines as (
    select * from {{ ref('fct_ledger_lines') }}
)

select
    {{ surrogate_key(['batch_id', 'currency']) }} as ledger_batch_currency_id,
    batch_id,
    currency,
    min(posted_for) as posted_for_from,
    max(posted_for) as posted_for_to,
    max(posted_at) as posted_at,
    cast(count(*) as bigint) as line_count,
    cast(count(distinct play_id) as bigint) as play_count,
    cast(sum(debit_minor) as bigint) as debit_minor,
    cast(sum(credit_minor) as bigint) as credit_minor,
    cast(sum(amount_minor) as bigint) as balance_minor,
    cast(sum(case when account = 'suspense' then credit_minor else 0 end) as bigint) as suspense_minor
from ledger_lines
group by batch_id, currency
