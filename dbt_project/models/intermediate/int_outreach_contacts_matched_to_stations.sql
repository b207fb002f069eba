-- grain: one row per organisation x contact that belongs to exactly one monitored station
-- A contact prospecting found on a station's own site carries its station_id; that key wins. Any other contact
-- (imported, inbound) belongs to a station when its company, lower-cased and reduced to letters and digits,
-- equals the station's name or id reduced the same way ("Radio North", "radio-north" and "RADIO NORTH " are all
-- `radionorth`). A company naming two stations maps to neither.
with contacts as (
    select * from {{ ref('stg_outreach__org_contacts') }}
),

stations as (
    select * from {{ ref('stg_airplay__stations') }}
),

station_keys as (
    select
        station_id,
        regexp_replace(lower(station_name), '[^a-z0-9]', '', 'g') as match_key
    from stations
    union
    select
        station_id,
        regexp_replace(lower(station_id), '[^a-z0-9]', '', 'g') as match_key
    from stations
),

contact_keys as (
    select
        org_contact_id,
        org_id,
        contact_id,
        email,
        company,
        station_id as keyed_station_id,
        regexp_replace(lower(company), '[^a-z0-9]', '', 'g') as match_key
    from contacts
),

-- one station per contact (the union above may match a station by its name and its id)
matches as (
    select
        contact_keys.org_contact_id,
        min(station_keys.station_id) as station_id,
        max(station_keys.station_id) as other_station_id
    from contact_keys
    inner join station_keys on contact_keys.match_key = station_keys.match_key
    where contact_keys.match_key <> ''
    group by contact_keys.org_contact_id
)

select
    contact_keys.org_contact_id,
    contact_keys.org_id,
    contact_keys.contact_id,
    contact_keys.email,
    contact_keys.company,
    contact_keys.match_key,
    coalesce(contact_keys.keyed_station_id, matches.station_id) as station_id,
    case when contact_keys.keyed_station_id is not null then 'station_id' else 'company_name' end as matched_by
from contact_keys
left join matches on contact_keys.org_contact_id = matches.org_contact_id
where
    contact_keys.keyed_station_id is not null
    or (matches.station_id is not null and matches.station_id = matches.other_station_id)
