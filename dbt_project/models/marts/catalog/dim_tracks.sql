-- grain: one row per track (recording)
with tracks as (
    select * from {{ ref('stg_catalog__tracks') }}
),

artists as (
    select * from {{ ref('stg_catalog__artists') }}
),

works as (
    select * from {{ ref('stg_rights__works') }}
),

work_splits as (
    select
        work_id,
        cast(count(distinct party_id) as bigint) as split_party_count,
        cast(sum(share_bp) as bigint) as split_share_bp
    from {{ ref('stg_rights__splits') }}
    group by work_id
)

select
    tracks.track_id,
    tracks.isrc,
    tracks.track_title,
    tracks.album_title,
    tracks.release_date,
    tracks.duration_ms,
    tracks.genre,
    tracks.is_explicit,
    tracks.popularity,
    tracks.artist_id,
    artists.artist_name,
    artists.country_code as artist_country_code,
    tracks.work_id,
    works.iswc,
    works.work_title,
    coalesce(work_splits.split_party_count, 0) as split_party_count,
    coalesce(work_splits.split_party_count, 0) > 0 as has_approved_split,
    tracks.audio_path,
    tracks.audio_path is not null as has_reference_audio,
    tracks.ingested_at
from tracks
left join artists on tracks.artist_id = artists.artist_id
left join works on tracks.work_id = works.work_id
left join work_splits on tracks.work_id = work_splits.work_id
