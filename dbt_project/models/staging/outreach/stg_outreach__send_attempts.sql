-- grain: one row per send event (idempotency_key x attempt_no x event); the table is append-only
select
    {{ surrogate_key(['idempotency_key', 'attempt_no', 'event']) }} as send_event_id,
    cast(idempotency_key as varchar) as idempotency_key,
    cast(attempt_no as bigint) as attempt_no,
    cast(event as varchar) as send_event,
    cast(org_id as varchar) as org_id,
    cast(mailbox_id as varchar) as mailbox_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(prospect_id as varchar) as prospect_id,
    cast(step_no as bigint) as step_no,
    cast(recipient_domain as varchar) as recipient_domain,
    cast(message_id as varchar) as message_id,
    cast(gmail_message_id as varchar) as gmail_message_id,
    cast(gmail_thread_id as varchar) as gmail_thread_id,
    cast(recovered as boolean) as is_recovered,
    cast(error_category as varchar) as error_category,
    cast(error_reason as varchar) as error_reason,
    cast(occurred_at as timestamp) as occurred_at
from {{ source('outreach', 'send_attempts') }}
