-- grain: one row per rights holder (party)
with parties as (
    select * from {{ ref('stg_rights__parties') }}
),

party_splits as (
    select
        party_id,
        cast(count(distinct work_id) as bigint) as work_count,
        cast(count(*) as bigint) as split_count
    from {{ ref('stg_rights__splits') }}
    group by party_id
)

select
    parties.party_id,
    parties.party_name,
    parties.ipi,
    coalesce(party_splits.work_count, 0) as work_count,
    coalesce(party_splits.split_count, 0) as split_count
from parties
left join party_splits on parties.party_id = party_splits.party_id
