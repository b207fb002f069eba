-- grain: one row per payout request
select
    cast(payout_id as varchar) as payout_id,
    cast(party_id as varchar) as party_id,
    cast(currency as varchar) as currency,
    cast(amount_minor as bigint) as amount_minor,
    cast(requested_on as date) as requested_on,
    cast(status as varchar) as status,
    cast(decided_by as varchar) as decided_by,
    cast(note as varchar) as note,
    cast(paid_on as date) as paid_on,
    cast(batch_id as varchar) as batch_id
from {{ source('royalties', 'payouts') }}
