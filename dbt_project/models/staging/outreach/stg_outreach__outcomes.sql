-- grain: one row per signal from a prospect (reply, bounce, auto-reply, unsubscribe, complaint, accept, reject)
select
    cast(outcome_id as varchar) as outcome_id,
    cast(org_id as varchar) as org_id,
    cast(kind as varchar) as outcome_kind,
    cast(campaign_id as varchar) as campaign_id,
    cast(prospect_id as varchar) as prospect_id,
    cast(contact_id as varchar) as contact_id,
    cast(mailbox_id as varchar) as mailbox_id,
    cast(step_no as bigint) as step_no,
    cast(gmail_message_id as varchar) as gmail_message_id,
    cast(detail as varchar) as detail,
    cast(occurred_at as timestamp) as occurred_at,
    cast(recorded_at as timestamp) as recorded_at
from {{ source('outreach', 'outcomes') }}
