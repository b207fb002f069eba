-- grain: one row per ledger line (batch_id x line_no); the ledger is append-only
select
    {{ surrogate_key(['batch_id', 'line_no']) }} as ledger_line_id,
    cast(batch_id as varchar) as batch_id,
    cast(line_no as bigint) as line_no,
    cast(entry_kind as varchar) as entry_kind,
    cast(posted_for as date) as posted_for,
    cast(accounting_period as varchar) as accounting_period,
    cast(posted_at as timestamp) as posted_at,
    cast(account as varchar) as account,
    cast(station_id as varchar) as station_id,
    cast(play_id as varchar) as play_id,
    cast(recording_id as varchar) as recording_id,
    cast(party_id as varchar) as party_id,
    cast(tariff_id as varchar) as tariff_id,
    cast(amount_minor as bigint) as amount_minor,
    cast(currency as varchar) as currency
from {{ source('royalties', 'royalty_ledger') }}
