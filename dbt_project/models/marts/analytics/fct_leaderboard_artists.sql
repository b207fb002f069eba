-- grain: one row per grain (day, week, month) x period_start x artist
with plays as (
    select
        play_id,
        play_date,
        coalesce(artist_id, 'UNKNOWN') as artist_id,
        coalesce(artist_name, 'Unknown artist') as artist_name,
        duration_s,
        royalty_amount_minor,
        royalty_currency
    from {{ ref('fct_plays') }}
),

{{ leaderboard(['artist_id'], ['artist_name']) }}
