-- grain: one row per sending mailbox
select
    cast(mailbox_id as varchar) as mailbox_id,
    cast(org_id as varchar) as org_id,
    cast(address as varchar) as mailbox_address,
    cast(provider as varchar) as provider,
    cast(status as varchar) as mailbox_status,
    cast(created_on as date) as created_on,
    cast(daily_cap as bigint) as daily_cap
from {{ source('outreach', 'mailboxes') }}
