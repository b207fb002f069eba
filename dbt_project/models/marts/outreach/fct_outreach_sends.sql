-- grain: one row per message Gmail holds (a `sent` event: sent, or found by its Message-ID after a crash)
-- Each outcome with a prospect counts for one send of that prospect: the step it names, else the latest send
-- made before it happened. Outcomes without a prospect, or before any send, count nowhere.
with send_events as (
    select * from {{ ref('stg_outreach__send_attempts') }}
),

sent as (
    select * from send_events
    where send_event = 'sent'
),

claims as (
    select
        idempotency_key,
        cast(count(*) as bigint) as claim_count
    from send_events
    where send_event = 'intent'
    group by idempotency_key
),

messages as (
    select * from {{ ref('stg_outreach__outbound_messages') }}
),

prospects as (
    select * from {{ ref('stg_outreach__prospects') }}
),

outcomes as (
    select * from {{ ref('stg_outreach__outcomes') }}
    where
        prospect_id is not null
        and outcome_kind in ('replied', 'bounced_hard', 'bounced_soft', 'auto_reply', 'unsubscribed', 'complained')
),

candidate_sends as (
    select
        outcomes.outcome_id,
        outcomes.outcome_kind,
        outcomes.occurred_at,
        sent.idempotency_key,
        row_number() over (
            partition by outcomes.outcome_id
            order by sent.occurred_at desc, sent.step_no desc
        ) as recency
    from outcomes
    inner join sent
        on
            outcomes.prospect_id = sent.prospect_id
            and (outcomes.step_no is null or outcomes.step_no = sent.step_no)
            and (
                outcomes.step_no is not null
                or outcomes.occurred_at is null
                or outcomes.occurred_at >= sent.occurred_at
            )
),

outcomes_per_send as (
    select
        idempotency_key,
        count(case when outcome_kind = 'replied' then 1 end) > 0 as is_replied,
        count(case when outcome_kind = 'bounced_hard' then 1 end) > 0 as is_bounced,
        count(case when outcome_kind = 'bounced_soft' then 1 end) > 0 as is_soft_bounced,
        count(case when outcome_kind = 'auto_reply' then 1 end) > 0 as is_auto_replied,
        count(case when outcome_kind = 'unsubscribed' then 1 end) > 0 as is_unsubscribed,
        count(case when outcome_kind = 'complained' then 1 end) > 0 as is_complained,
        min(case when outcome_kind = 'replied' then occurred_at end) as first_replied_at
    from candidate_sends
    where recency = 1
    group by idempotency_key
)

select
    sent.idempotency_key,
    sent.org_id,
    sent.mailbox_id,
    sent.campaign_id,
    sent.prospect_id,
    prospects.contact_id,
    sent.step_no,
    sent.recipient_domain,
    sent.message_id,
    sent.gmail_message_id,
    sent.gmail_thread_id,
    messages.template_id,
    messages.template_version,
    sent.attempt_no,
    coalesce(claims.claim_count, 0) as claim_count,
    coalesce(sent.is_recovered, false) as is_recovered,
    sent.occurred_at as sent_at,
    cast(sent.occurred_at as date) as sent_date,
    -- as the campaign figures count it (backbeat/outreach/figures.py): a soft bounce is a temporary failure
    not coalesce(outcomes_per_send.is_bounced, false) as is_delivered,
    coalesce(outcomes_per_send.is_replied, false) as is_replied,
    coalesce(outcomes_per_send.is_bounced, false) as is_bounced,
    coalesce(outcomes_per_send.is_soft_bounced, false) as is_soft_bounced,
    coalesce(outcomes_per_send.is_auto_replied, false) as is_auto_replied,
    coalesce(outcomes_per_send.is_unsubscribed, false) as is_unsubscribed,
    coalesce(outcomes_per_send.is_complained, false) as is_complained,
    outcomes_per_send.first_replied_at
from sent
left join claims on sent.idempotency_key = claims.idempotency_key
left join messages on sent.idempotency_key = messages.idempotency_key
left join prospects on sent.prospect_id = prospects.prospect_id
left join outcomes_per_send on sent.idempotency_key = outcomes_per_send.idempotency_key
