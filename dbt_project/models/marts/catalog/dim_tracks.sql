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

splits as (
    select * from {{ ref('stg_rights__splits') }}
),

audio_features as (
    select * from {{ ref('stg_catalog__audio_features') }}
),

-- a track is the `file` record of exactly one golden recording (links are keyed by source x source_id)
golden_links as (
    select
        source_id as track_id,
        golden_id
    from {{ ref('stg_catalog__recording_links') }}
    where source = 'file'
),

-- the parties sharing in a track: its work's writers and publishers, the recording's performers and label
track_split_parties as (
    select
        tracks.track_id,
        splits.subject_type,
        splits.party_id
    from tracks
    inner join splits
        on splits.subject_type = 'work' and tracks.work_id = splits.subject_id
    union all
    select
        tracks.track_id,
        splits.subject_type,
        splits.party_id
    from tracks
    inner join splits
        on splits.subject_type = 'recording' and tracks.track_id = splits.subject_id
),

track_splits as (
    select
        track_id,
        cast(count(distinct party_id) as bigint) as split_party_count,
        cast(count(case when subject_type = 'work' then 1 end) as bigint) as work_split_count,
        cast(count(case when subject_type = 'recording' then 1 end) as bigint) as recording_split_count
    from track_split_parties
    group by track_id
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
    coalesce(track_splits.split_party_count, 0) as split_party_count,
    coalesce(track_splits.split_party_count, 0) > 0 as has_approved_split,
    coalesce(track_splits.work_split_count, 0) > 0 as has_work_split,
    coalesce(track_splits.recording_split_count, 0) > 0 as has_recording_split,
    tracks.audio_path,
    tracks.audio_path is not null as has_reference_audio,
    tracks.ingested_at,
    golden_links.golden_id,
    audio_features.tempo_bpm,
    audio_features.dj_bpm,
    audio_features.musical_key,
    audio_features.camelot_key,
    audio_features.open_key,
    audio_features.energy
from tracks
left join artists on tracks.artist_id = artists.artist_id
left join works on tracks.work_id = works.work_id
left join track_splits on tracks.track_id = track_splits.track_id
left join audio_features on tracks.track_id = audio_features.track_id
left join golden_links on tracks.track_id = golden_links.track_id
