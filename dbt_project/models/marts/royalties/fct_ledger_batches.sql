-- grain: one row per ledger batch x currency
with ledger_lines as (
    select * from {{ ref('fct_ledger_lines') }}
),

batches as (
    select * from {{ ref('stg_royalties__ledger_batches') }}
),

batch_totals as (
    select
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
        -- net credits (positive); a reversal releasing suspense or hold shows negative
        cast(-sum(case when account = 'suspense' then amount_minor else 0 end) as bigint) as suspense_minor,
        cast(-sum(case when account = 'hold' then amount_minor else 0 end) as bigint) as hold_minor
    from ledger_lines
    group by batch_id, currency
)

select
    {{ surrogate_key(['batch_totals.batch_id', 'batch_totals.currency']) }} as ledger_batch_currency_id,
    batch_totals.batch_id,
    batch_totals.currency,
    batches.batch_kind,
    batches.revision,
    batches.reverses_batch_id,
    batches.reason,
    batches.station_id,
    batches.accounting_period,
    batch_totals.posted_for_from,
    batch_totals.posted_for_to,
    batch_totals.posted_at,
    batch_totals.line_count,
    batch_totals.play_count,
    batch_totals.debit_minor,
    batch_totals.credit_minor,
    batch_totals.balance_minor,
    batch_totals.suspense_minor,
    batch_totals.hold_minor
from batch_totals
left join batches on batch_totals.batch_id = batches.batch_id
