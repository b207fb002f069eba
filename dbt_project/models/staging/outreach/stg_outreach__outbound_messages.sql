-- grain: one row per idempotency key (mailbox x campaign x prospect x step): the one message it may send
select
    cast(idempotency_key as varchar) as idempotency_key,
    cast(org_id as varchar) as org_id,
    cast(mailbox_id as varchar) as mailbox_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(prospect_id as varchar) as prospect_id,
    cast(step_no as bigint) as step_no,
    cast(message_id as varchar) as message_id,
    cast(template_id as varchar) as template_id,
    cast(template_version as bigint) as template_version,
    cast(rendered_at as timestamp) as rendered_at
from {{ source('outreach', 'outbound_messages') }}
