-- grain: one row per organisation x contact it may address
select
    {{ surrogate_key(['org_id', 'contact_id']) }} as org_contact_id,
    cast(org_id as varchar) as org_id,
    cast(contact_id as varchar) as contact_id,
    cast(email as varchar) as email,
    cast(name as varchar) as contact_name,
    cast(company as varchar) as company,
    cast(consent as boolean) as has_consent,
    cast(provenance as varchar) as provenance,
    cast(source as varchar) as provenance_source,
    cast(added_at as timestamp) as added_at,
    cast(station_id as varchar) as station_id
from {{ source('outreach', 'org_contacts') }}
