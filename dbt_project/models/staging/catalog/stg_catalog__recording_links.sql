-- grain: one row per source record (source x source_id)
select
    {{ surrogate_key(['source', 'source_id']) }} as recording_link_id,
    cast(source as varchar) as source,
    cast(source_id as varchar) as source_id,
    cast(golden_id as varchar) as golden_id,
    cast(match_rule as varchar) as match_rule,
    cast(score as double precision) as match_score
from {{ source('catalog', 'recording_links') }}
