-- grain: one row per detected play
with plays as (
    select * from {{ ref('int_plays_enriched') }}
),

play_ledger as (
    select * from {{ ref('int_ledger_lines_aggregated_to_plays') }}
)

select
    -- every play attribute as int_plays_enriched defines it (one list to maintain)
    plays.*,
    -- net over every revision; null until the play is posted to the ledger
    play_ledger.receivable_minor as royalty_amount_minor,
    play_ledger.currency as royalty_currency,
    play_ledger.party_payable_minor,
    play_ledger.suspense_minor,
    play_ledger.hold_minor,
    play_ledger.play_id is not null as is_royalty_posted,
    coalesce(play_ledger.is_in_suspense, false) as is_in_suspense,
    coalesce(play_ledger.is_on_hold, false) as is_on_hold
from plays
left join play_ledger on plays.play_id = play_ledger.play_id
