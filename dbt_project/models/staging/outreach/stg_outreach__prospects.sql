-- grain: one row per prospect (campaign x contact)
select
    cast(prospect_id as varchar) as prospect_id,
    cast(org_id as varchar) as org_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(contact_id as varchar) as contact_id,
    cast(mailbox_id as varchar) as mailbox_id,
    cast(status as varchar) as prospect_status,
    cast(status_reason as varchar) as status_reason,
    cast(enrolled_at as timestamp) as enrolled_at
from {{ source('outreach', 'prospects') }}
