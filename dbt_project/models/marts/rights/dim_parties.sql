-- grain: one row per rights holder (party)
with parties as (
    select * from {{ ref('stg_rights__parties') }}
),

party_splits as (
    select
        party_id,
        -- a subject is a work or a recording: the type is part of its identity
        cast(count(distinct subject_type || ':' || subject_id) as bigint) as subject_count,
        cast(count(distinct case when subject_type = 'work' then subject_id end) as bigint) as work_count,
        cast(count(distinct case when subject_type = 'recording' then subject_id end) as bigint)
            as recording_count,
        cast(count(distinct split_set_id) as bigint) as split_set_count,
        cast(count(*) as bigint) as split_count
    from {{ ref('stg_rights__splits') }}
    group by party_id
)

select
    parties.party_id,
    parties.party_name,
    parties.ipi,
    parties.party_type,
    coalesce(party_splits.subject_count, 0) as subject_count,
    coalesce(party_splits.work_count, 0) as work_count,
    coalesce(party_splits.recording_count, 0) as recording_count,
    coalesce(party_splits.split_set_count, 0) as split_set_count,
    coalesce(party_splits.split_count, 0) as split_count
from parties
left join party_splits on parties.party_id = party_splits.party_id
