-- grain: one row per ledger batch (posting, reversal or payout)
select
    cast(batch_id as varchar) as batch_id,
    cast(batch_kind as varchar) as batch_kind,
    cast(station_id as varchar) as station_id,
    cast(posted_for as date) as posted_for,
    cast(accounting_period as varchar) as accounting_period,
    cast(tariff_id as varchar) as tariff_id,
    cast(revision as bigint) as revision,
    cast(basis_hash as varchar) as basis_hash,
    cast(reverses_batch_id as varchar) as reverses_batch_id,
    cast(reason as varchar) as reason,
    cast(lines as bigint) as line_count,
    cast(debit_minor as bigint) as debit_minor,
    cast(currency as varchar) as currency,
    cast(posted_at as timestamp) as posted_at
from {{ source('royalties', 'ledger_batches') }}
