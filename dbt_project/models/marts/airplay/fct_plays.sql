-- grain: one row per detected play
with plays as (
    select * from {{ ref('int_plays_enriched') }}
),

play_ledger as (
    select * from {{ ref('int_ledger_lines_aggregated_to_plays') }}
)

select
    plays.play_id,
    plays.play_date,
    plays.started_at_utc,
    plays.ended_at_utc,
    plays.duration_s,
    plays.confidence,
    plays.detection_count,
    plays.playback_speed,
    plays.runner_up_track_id,
    plays.runner_up_confidence,
    plays.station_id,
    plays.station_name,
    plays.track_id,
    plays.track_title,
    plays.isrc,
    plays.artist_id,
    plays.artist_name,
    plays.work_id,
    plays.iswc,
    plays.program_id,
    plays.program_name,
    plays.program_attribution,
    -- null until the play is posted to the ledger
    play_ledger.receivable_minor as royalty_amount_minor,
    play_ledger.currency as royalty_currency,
    play_ledger.party_payable_minor,
    play_ledger.suspense_minor,
    play_ledger.play_id is not null as is_royalty_posted,
    coalesce(play_ledger.suspense_line_count, 0) > 0 as is_in_suspense
from plays
left join play_ledger on plays.play_id = play_ledger.play_id
