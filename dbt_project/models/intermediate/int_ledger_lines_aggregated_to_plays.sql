-- grain: one row per play that has ledger lines (a play is priced in one currency)
-- Amounts are NET over every line of the play: a reversal cancels the revision it reverses, so what is
-- left is what the active revision posts. Payout lines belong to no play and are left out.
with ledger_lines as (
    select * from {{ ref('stg_royalties__ledger_lines') }}
    where
        play_id is not null
        and entry_kind <> 'payout'
),

netted as (
    select
        play_id,
        currency,
        cast(sum(case when account = 'station_receivable' then amount_minor else 0 end) as bigint)
            as receivable_minor,
        -- credits are stored negative; shown here as positive amounts
        cast(-sum(case when account = 'party_payable' then amount_minor else 0 end) as bigint)
            as party_payable_minor,
        cast(-sum(case when account = 'suspense' then amount_minor else 0 end) as bigint)
            as suspense_minor,
        cast(-sum(case when account = 'hold' then amount_minor else 0 end) as bigint)
            as hold_minor,
        cast(count(distinct batch_id) as bigint) as batch_count,
        cast(count(*) as bigint) as line_count
    from ledger_lines
    group by play_id, currency
)

select
    play_id,
    currency,
    receivable_minor,
    party_payable_minor,
    suspense_minor,
    hold_minor,
    suspense_minor <> 0 as is_in_suspense,
    hold_minor <> 0 as is_on_hold,
    batch_count,
    line_count
from netted
