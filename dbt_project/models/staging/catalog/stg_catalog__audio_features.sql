-- grain: one row per track with audio features
select
    cast(track_id as varchar) as track_id,
    cast(content_hash as varchar) as content_hash,
    cast(tempo_bpm as double precision) as tempo_bpm,
    cast(dj_bpm as double precision) as dj_bpm,
    cast(musical_key as varchar) as musical_key,
    cast(camelot_key as varchar) as camelot_key,
    cast(open_key as varchar) as open_key,
    cast(key_confidence as double precision) as key_confidence,
    cast(energy as double precision) as energy,
    cast(loudness_db as double precision) as loudness_db,
    cast(provenance as varchar) as feature_provenance
from {{ source('catalog', 'audio_features') }}
