-- grain: one row per campaign x step of its sequence
select
    {{ surrogate_key(['campaign_id', 'step_no']) }} as sequence_step_id,
    cast(campaign_id as varchar) as campaign_id,
    cast(step_no as bigint) as step_no,
    cast(org_id as varchar) as org_id,
    cast(delay_hours as bigint) as delay_hours,
    cast(template_id as varchar) as template_id,
    cast(template_version as bigint) as template_version
from {{ source('outreach', 'sequence_steps') }}
