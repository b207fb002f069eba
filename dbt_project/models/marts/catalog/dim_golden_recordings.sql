-- grain: one row per golden recording
with golden as (
    select * from {{ ref('stg_catalog__golden_recordings') }}
),

-- the label's own records of each recording: their source_id is the catalog track_id
file_links as (
    select
        golden_id,
        min(source_id) as track_id,
        cast(count(*) as bigint) as catalog_track_count
    from {{ ref('stg_catalog__recording_links') }}
    where source = 'file'
    group by golden_id
),

audio_features as (
    select * from {{ ref('stg_catalog__audio_features') }}
)

select
    golden.golden_id,
    golden.isrc,
    golden.isrc_source,
    golden.recording_title,
    golden.title_source,
    golden.artist_credit,
    golden.artist_source,
    golden.album_title,
    golden.album_source,
    golden.duration_ms,
    golden.duration_ms_source,
    golden.release_date,
    golden.release_date_source,
    golden.iswc,
    golden.iswc_source,
    golden.member_count,
    file_links.track_id,
    coalesce(file_links.catalog_track_count, 0) as catalog_track_count,
    file_links.track_id is not null as is_in_catalog,
    audio_features.dj_bpm,
    audio_features.musical_key,
    audio_features.camelot_key,
    audio_features.open_key,
    audio_features.energy
from golden
left join file_links on golden.golden_id = file_links.golden_id
left join audio_features on file_links.track_id = audio_features.track_id
