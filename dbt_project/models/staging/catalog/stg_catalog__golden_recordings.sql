-- grain: one row per golden recording (a real recording across sources)
select
    cast(golden_id as varchar) as golden_id,
    cast(isrc as varchar) as isrc,
    cast(isrc_source as varchar) as isrc_source,
    cast(title as varchar) as recording_title,
    cast(title_source as varchar) as title_source,
    cast(artist as varchar) as artist_credit,
    cast(artist_source as varchar) as artist_source,
    cast(album as varchar) as album_title,
    cast(album_source as varchar) as album_source,
    cast(duration_ms as bigint) as duration_ms,
    cast(duration_ms_source as varchar) as duration_ms_source,
    cast(release_date as date) as release_date,
    cast(release_date_source as varchar) as release_date_source,
    cast(iswc as varchar) as iswc,
    cast(iswc_source as varchar) as iswc_source,
    cast(members as bigint) as member_count
from {{ source('catalog', 'golden_recordings') }}
