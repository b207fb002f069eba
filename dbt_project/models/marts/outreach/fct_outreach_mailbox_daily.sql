-- grain: one row per mailbox x day it sent on (sent_date, UTC); each send counts with its outcomes on the day
-- it was sent, so a day's rates are those of its messages and never exceed 1. Bounces are counted over the
-- messages sent, complaints, replies and unsubscribes over those delivered (Google's spam rate is per delivered).
with sends as (
    select * from {{ ref('fct_outreach_sends') }}
),

mailboxes as (
    select * from {{ ref('stg_outreach__mailboxes') }}
),

daily as (
    select
        mailbox_id,
        sent_date,
        cast(count(*) as bigint) as sent_count,
        cast(sum(case when is_delivered then 1 else 0 end) as bigint) as delivered_count,
        cast(sum(case when is_replied then 1 else 0 end) as bigint) as replied_count,
        cast(sum(case when is_bounced then 1 else 0 end) as bigint) as bounced_count,
        cast(sum(case when is_soft_bounced then 1 else 0 end) as bigint) as soft_bounced_count,
        cast(sum(case when is_unsubscribed then 1 else 0 end) as bigint) as unsubscribed_count,
        cast(sum(case when is_complained then 1 else 0 end) as bigint) as complained_count
    from sends
    group by mailbox_id, sent_date
)

select
    {{ surrogate_key(['daily.mailbox_id', 'daily.sent_date']) }} as outreach_mailbox_daily_id,
    mailboxes.org_id,
    daily.mailbox_id,
    mailboxes.mailbox_address,
    daily.sent_date,
    daily.sent_count,
    daily.delivered_count,
    daily.replied_count,
    daily.bounced_count,
    daily.soft_bounced_count,
    daily.unsubscribed_count,
    daily.complained_count,
    cast(daily.bounced_count as double precision) / daily.sent_count as bounce_rate,
    cast(daily.complained_count as double precision) / nullif(daily.delivered_count, 0) as complaint_rate,
    cast(daily.replied_count as double precision) / nullif(daily.delivered_count, 0) as reply_rate,
    cast(daily.unsubscribed_count as double precision) / nullif(daily.delivered_count, 0) as unsubscribe_rate
from daily
left join mailboxes on daily.mailbox_id = mailboxes.mailbox_id
