-- grain: one row per grain (day, week, month) x period_start x station
with plays as (
    select
        play_id,
        play_date,
        station_id,
        station_name,
        duration_s,
        royalty_amount_minor,
        royalty_currency
    from {{ ref('fct_plays') }}
),

{{ leaderboard(['station_id'], ['station_name']) }}
