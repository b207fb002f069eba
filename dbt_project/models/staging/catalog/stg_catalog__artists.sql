-- grain: one row per artist
select
    cast(artist_id as varchar) as artist_id,
    cast(name as varchar) as artist_name,
    cast(country as varchar) as country_code,
    cast(ingested_at as timestamp) as ingested_at
from {{ source('catalog', 'artists') }}
