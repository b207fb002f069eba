-- grain: one row per approved share: split set x party x role
select
    {{ surrogate_key(['split_set_id', 'party_id', 'role']) }} as split_id,
    cast(split_set_id as varchar) as split_set_id,
    cast(subject_type as varchar) as subject_type,
    cast(subject_id as varchar) as subject_id,
    cast(party_id as varchar) as party_id,
    cast(role as varchar) as role,
    cast(role_group as varchar) as role_group,
    cast(share_bp as bigint) as share_bp,
    -- 10000 bp = 1; cast before dividing so both engines do decimal division
    cast(cast(share_bp as numeric(18, 6)) / 10000 as numeric(18, 6)) as share_fraction,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to,
    cast(source_file as varchar) as source_file,
    cast(source_row as bigint) as source_row,
    cast(approved_by as varchar) as approved_by
from {{ source('rights', 'splits') }}
