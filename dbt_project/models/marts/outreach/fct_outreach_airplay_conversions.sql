-- grain: one row per campaign x monitored station; contacted stations and the rest (the baseline) side by side
-- A station is contacted when the campaign sent to one of its contacts (int_outreach_contacts_matched_to_stations).
-- Its window opens at the first send to any of its contacts; a station not contacted gets the campaign's first
-- send, so both count the same track's plays over the same stretch after the campaign began.
{% set window_days = 30 %}

with campaigns as (
    select * from {{ ref('stg_outreach__campaigns') }}
    where track_id is not null
),

sends as (
    select * from {{ ref('fct_outreach_sends') }}
),

contact_stations as (
    select * from {{ ref('int_outreach_contacts_matched_to_stations') }}
),

stations as (
    select * from {{ ref('stg_airplay__stations') }}
),

plays as (
    select * from {{ ref('stg_airplay__plays') }}
),

play_royalties as (
    select * from {{ ref('int_ledger_lines_aggregated_to_plays') }}
),

campaign_starts as (
    select
        campaign_id,
        min(sent_at) as campaign_first_sent_at
    from sends
    group by campaign_id
),

station_sends as (
    select
        sends.campaign_id,
        contact_stations.station_id,
        min(sends.sent_at) as first_sent_at,
        cast(count(distinct sends.contact_id) as bigint) as contacted_count,
        cast(count(distinct case when sends.is_replied then sends.contact_id end) as bigint) as replied_count
    from sends
    inner join contact_stations
        on
            sends.org_id = contact_stations.org_id
            and sends.contact_id = contact_stations.contact_id
    group by sends.campaign_id, contact_stations.station_id
),

campaign_stations as (
    select
        campaigns.campaign_id,
        campaigns.org_id,
        campaigns.campaign_name,
        campaigns.track_id,
        campaigns.track_title,
        stations.station_id,
        stations.station_name,
        stations.is_active as is_station_active,
        station_sends.station_id is not null as is_contacted,
        coalesce(station_sends.contacted_count, 0) as contacted_count,
        coalesce(station_sends.replied_count, 0) as replied_count,
        station_sends.first_sent_at,
        coalesce(station_sends.first_sent_at, campaign_starts.campaign_first_sent_at) as window_start_at,
        coalesce(station_sends.first_sent_at, campaign_starts.campaign_first_sent_at)
        + interval '{{ window_days }} days' as window_end_at
    from campaigns
    -- a campaign that sent nothing has no window yet
    inner join campaign_starts on campaigns.campaign_id = campaign_starts.campaign_id
    cross join stations
    left join station_sends
        on
            campaigns.campaign_id = station_sends.campaign_id
            and stations.station_id = station_sends.station_id
),

-- plays of the promoted track at the station from the window's start on; a play before it is no conversion
plays_after as (
    select
        campaign_stations.campaign_id,
        campaign_stations.station_id,
        plays.play_id,
        plays.started_at_utc,
        plays.duration_s,
        plays.started_at_utc < campaign_stations.window_end_at as is_in_window
    from campaign_stations
    inner join plays
        on
            campaign_stations.station_id = plays.station_id
            and campaign_stations.track_id = plays.track_id
            and campaign_stations.window_start_at <= plays.started_at_utc
),

play_figures as (
    select
        campaign_id,
        station_id,
        min(started_at_utc) as first_play_at,
        cast(count(case when is_in_window then play_id end) as bigint) as play_count,
        cast(coalesce(sum(case when is_in_window then duration_s end), 0) as bigint) as airtime_s
    from plays_after
    group by campaign_id, station_id
),

-- one currency per station (its tariff's): a second one would repeat the row and fail the primary key test
royalty_figures as (
    select
        plays_after.campaign_id,
        plays_after.station_id,
        play_royalties.currency,
        cast(count(*) as bigint) as royalty_posted_play_count,
        cast(sum(play_royalties.receivable_minor) as bigint) as royalty_amount_minor
    from plays_after
    inner join play_royalties on plays_after.play_id = play_royalties.play_id
    where plays_after.is_in_window
    group by plays_after.campaign_id, plays_after.station_id, play_royalties.currency
)

select
    {{ surrogate_key(['campaign_stations.campaign_id', 'campaign_stations.station_id']) }}
        as outreach_airplay_conversion_id,
    campaign_stations.campaign_id,
    campaign_stations.org_id,
    campaign_stations.campaign_name,
    campaign_stations.track_id,
    campaign_stations.track_title,
    campaign_stations.station_id,
    campaign_stations.station_name,
    campaign_stations.is_station_active,
    campaign_stations.is_contacted,
    campaign_stations.contacted_count,
    campaign_stations.replied_count,
    campaign_stations.first_sent_at,
    campaign_stations.window_start_at,
    campaign_stations.window_end_at,
    play_figures.first_play_at,
    -- whole days elapsed, so a play 23 hours after the send is day 0
    cast(
        floor(extract(epoch from (play_figures.first_play_at - campaign_stations.window_start_at)) / 86400)
        as bigint
    ) as days_to_first_play,
    play_figures.first_play_at is not null as is_played,
    coalesce(play_figures.play_count, 0) as play_count,
    coalesce(play_figures.airtime_s, 0) as airtime_s,
    coalesce(royalty_figures.royalty_posted_play_count, 0) as royalty_posted_play_count,
    coalesce(royalty_figures.royalty_amount_minor, 0) as royalty_amount_minor,
    royalty_figures.currency as royalty_currency
from campaign_stations
left join play_figures
    on
        campaign_stations.campaign_id = play_figures.campaign_id
        and campaign_stations.station_id = play_figures.station_id
left join royalty_figures
    on
        campaign_stations.campaign_id = royalty_figures.campaign_id
        and campaign_stations.station_id = royalty_figures.station_id
