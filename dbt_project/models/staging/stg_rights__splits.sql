-- grain: one row per approved split line: work x party x role
select
    {{ surrogate_key(['work_id', 'party_id', 'role']) }} as split_id,
    cast(work_id as varchar) as work_id,
    cast(party_id as varchar) as party_id,
    cast(role as varchar) as role,
    cast(share_bp as bigint) as share_bp,
    -- 10000 bp = 1; cast before dividing so both engines do decimal division
    cast(cast(share_bp as numeric(18, 6)) / 10000 as numeric(18, 6)) as share_fraction,
    cast(source_file as varchar) as source_file,
    cast(source_row as bigint) as source_row
from {{ source('rights', 'splits') }}
