-- grain: one row per campaign x sequence step; steps not sent yet show zeros
with sends as (
    select * from {{ ref('fct_outreach_sends') }}
),

steps as (
    select * from {{ ref('stg_outreach__sequence_steps') }}
),

campaigns as (
    select * from {{ ref('stg_outreach__campaigns') }}
),

-- a step may have sends although it was removed from the sequence since
campaign_steps as (
    select
        campaign_id,
        step_no
    from steps
    union
    select
        campaign_id,
        step_no
    from sends
),

step_sends as (
    select
        campaign_id,
        step_no,
        cast(count(*) as bigint) as sent_count,
        cast(sum(case when is_delivered then 1 else 0 end) as bigint) as delivered_count,
        cast(sum(case when is_replied then 1 else 0 end) as bigint) as replied_count,
        cast(sum(case when is_bounced then 1 else 0 end) as bigint) as bounced_count,
        cast(sum(case when is_soft_bounced then 1 else 0 end) as bigint) as soft_bounced_count,
        cast(sum(case when is_unsubscribed then 1 else 0 end) as bigint) as unsubscribed_count,
        cast(sum(case when is_complained then 1 else 0 end) as bigint) as complained_count
    from sends
    group by campaign_id, step_no
),

counted as (
    select
        campaign_steps.campaign_id,
        campaign_steps.step_no,
        coalesce(step_sends.sent_count, 0) as sent_count,
        coalesce(step_sends.delivered_count, 0) as delivered_count,
        coalesce(step_sends.replied_count, 0) as replied_count,
        coalesce(step_sends.bounced_count, 0) as bounced_count,
        coalesce(step_sends.soft_bounced_count, 0) as soft_bounced_count,
        coalesce(step_sends.unsubscribed_count, 0) as unsubscribed_count,
        coalesce(step_sends.complained_count, 0) as complained_count
    from campaign_steps
    left join step_sends
        on
            campaign_steps.campaign_id = step_sends.campaign_id
            and campaign_steps.step_no = step_sends.step_no
)

select
    {{ surrogate_key(['counted.campaign_id', 'counted.step_no']) }} as outreach_funnel_id,
    campaigns.org_id,
    counted.campaign_id,
    campaigns.campaign_name,
    counted.step_no,
    steps.template_id,
    steps.template_version,
    counted.sent_count,
    counted.delivered_count,
    counted.replied_count,
    counted.bounced_count,
    counted.soft_bounced_count,
    counted.unsubscribed_count,
    counted.complained_count,
    cast(counted.delivered_count as double precision) / nullif(counted.sent_count, 0) as delivery_rate,
    cast(counted.replied_count as double precision) / nullif(counted.delivered_count, 0) as reply_rate,
    cast(counted.bounced_count as double precision) / nullif(counted.sent_count, 0) as bounce_rate,
    cast(counted.unsubscribed_count as double precision) / nullif(counted.delivered_count, 0) as unsubscribe_rate,
    cast(counted.complained_count as double precision) / nullif(counted.delivered_count, 0) as complaint_rate
from counted
left join campaigns on counted.campaign_id = campaigns.campaign_id
left join steps
    on
        counted.campaign_id = steps.campaign_id
        and counted.step_no = steps.step_no
