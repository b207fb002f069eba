-- grain: one row per contact
select
    cast(contact_id as varchar) as contact_id,
    cast(email as varchar) as email,
    -- matching key only; the address as written is kept in `email`
    lower(trim(cast(email as varchar))) as email_normalized,
    cast(name as varchar) as contact_name,
    cast(company as varchar) as company,
    cast(country as varchar) as country,
    cast(consent as boolean) as has_consent,
    cast(source_file as varchar) as source_file,
    cast(source_row as bigint) as source_row
from {{ source('outreach', 'contacts') }}
