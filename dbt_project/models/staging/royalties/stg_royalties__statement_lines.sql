-- grain: one row per statement detail: period x party x currency x line type x recording x station
-- recording and station are null on payout lines: they enter the key as ''.
select
    {{ surrogate_key(['period', 'party_id', 'currency', 'line_type',
                      "coalesce(recording_id, '')", "coalesce(station_id, '')"]) }} as statement_line_id,
    {{ surrogate_key(['period', 'party_id', 'currency']) }} as party_statement_id,
    cast(period as varchar) as period,
    cast(party_id as varchar) as party_id,
    cast(currency as varchar) as currency,
    cast(line_type as varchar) as line_type,
    cast(recording_id as varchar) as recording_id,
    cast(station_id as varchar) as station_id,
    cast(plays as bigint) as play_count,
    cast(amount_minor as bigint) as amount_minor
from {{ source('royalties', 'statement_lines') }}
