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

-- a step without sends joins no row: its count is 0 and each sum adds a single 0
counted as (
    select
        campaign_steps.campaign_id,
        campaign_steps.step_no,
        cast(count(sends.campaign_id) as bigint) as sent_count,
        cast(sum(case when sends.is_delivered then 1 else 0 end) as bigint) as delivered_count,
        cast(sum(case when sends.is_replied then 1 else 0 end) as bigint) as replied_count,
        cast(sum(case when sends.is_bounced then 1 else 0 end) as bigint) as bounced_count,
        cast(sum(case when sends.is_soft_bounced then 1 else 0 end) as bigint) as soft_bounced_count,
        cast(sum(case when sends.is_unsubscribed then 1 else 0 end) as bigint) as unsubscribed_count,
        cast(sum(case when sends.is_complained then 1 else 0 end) as bigint) as complained_count
    from campaign_steps
    left join sends
        on
            campaign_steps.campaign_id = sends.campaign_id
            and campaign_steps.step_no = sends.step_no
    group by campaign_steps.campaign_id, campaign_steps.step_no
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
