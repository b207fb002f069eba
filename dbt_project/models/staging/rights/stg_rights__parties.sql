-- grain: one row per rights holder
select
    cast(party_id as varchar) as party_id,
    cast(name as varchar) as party_name,
    cast(ipi as varchar) as ipi,
    cast(party_type as varchar) as party_type,
    cast(source_file as varchar) as source_file
from {{ source('rights', 'parties') }}
