{{ config(meta={'dagster': {'ref': {'name': 'stg_royalties__ledger_batches'}}}) }}
-- Every ledger batch header states what its lines hold: kind, currency, line count and debit total.
-- Returns the batches (from either side) where header and lines disagree, or one side is missing.
with line_totals as (
    select
        batch_id,
        min(entry_kind) as entry_kind,
        max(entry_kind) as other_entry_kind,
        min(currency) as currency,
        max(currency) as other_currency,
        cast(count(*) as bigint) as line_count,
        cast(sum(case when amount_minor > 0 then amount_minor else 0 end) as bigint) as debit_minor
    from {{ ref('stg_royalties__ledger_lines') }}
    group by batch_id
),

headers as (
    select * from {{ ref('stg_royalties__ledger_batches') }}
)

select
    coalesce(headers.batch_id, line_totals.batch_id) as batch_id,
    headers.batch_kind,
    line_totals.entry_kind,
    headers.currency as header_currency,
    line_totals.currency as line_currency,
    headers.line_count as header_line_count,
    line_totals.line_count,
    headers.debit_minor as header_debit_minor,
    line_totals.debit_minor
from headers
full outer join line_totals on headers.batch_id = line_totals.batch_id
where headers.batch_id is null
    or line_totals.batch_id is null
    or line_totals.entry_kind <> line_totals.other_entry_kind
    or line_totals.currency <> line_totals.other_currency
    or headers.batch_kind <> line_totals.entry_kind
    or headers.currency <> line_totals.currency
    or headers.line_count <> line_totals.line_count
    or headers.debit_minor <> line_totals.debit_minor
