-- grain: one row per dispute, at its current step
with disputes as (
    select * from {{ ref('stg_royalties__disputes') }}
),

plays as (
    select * from {{ ref('int_plays_enriched') }}
),

play_ledger as (
    select * from {{ ref('int_ledger_lines_aggregated_to_plays') }}
)

select
    disputes.dispute_id,
    disputes.play_id,
    coalesce(disputes.play_date, plays.play_date) as play_date,
    plays.started_at_utc,
    coalesce(disputes.station_id, plays.station_id) as station_id,
    plays.station_name,
    plays.track_id,
    plays.track_title,
    plays.artist_name,
    disputes.opened_by,
    disputes.opened_at,
    disputes.status,
    disputes.resolution,
    disputes.updated_at,
    disputes.status <> 'resolved' as is_open,
    case when disputes.status = 'resolved' then disputes.updated_at end as resolved_at,
    -- whole UTC calendar days from opening to resolution, or to today while open
    cast(
        case
            when disputes.status = 'resolved' then cast(disputes.updated_at as date)
            else current_date
        end
        - cast(disputes.opened_at as date)
        as bigint
    ) as days_open,
    play_ledger.hold_minor,
    play_ledger.receivable_minor as royalty_amount_minor,
    play_ledger.currency as royalty_currency
from disputes
left join plays on disputes.play_id = plays.play_id
left join play_ledger on disputes.play_id = play_ledger.play_id
