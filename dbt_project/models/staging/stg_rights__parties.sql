-- grain: one row per rights holder
select
    cast(party_id as varchar) as party_id,
    cast(name as varchar) as party_name,
    cast(ipi as varchar) as ipi
from {{ source('rights', 'parties') }}
