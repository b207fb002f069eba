-- grain: one row per outreach campaign
select
    cast(campaign_id as varchar) as campaign_id,
    cast(org_id as varchar) as org_id,
    cast(name as varchar) as campaign_name,
    cast(track_id as varchar) as track_id,
    cast(track_title as varchar) as track_title,
    cast(status as varchar) as campaign_status,
    cast(created_at as timestamp) as created_at
from {{ source('outreach', 'campaigns') }}
