-- grain: one row per grain (day, week, month) x period_start x station x programme
with plays as (
    select
        play_id,
        play_date,
        station_id,
        station_name,
        -- as fct_program_airplay: plays outside any programme form the station's 'UNSCHEDULED' programme
        coalesce(program_id, 'UNSCHEDULED') as program_id,
        coalesce(program_name, 'Unscheduled') as program_name,
        duration_s,
        royalty_amount_minor,
        royalty_currency
    from {{ ref('fct_plays') }}
),

{{ leaderboard(['station_id', 'program_id'], ['station_name', 'program_name']) }}
