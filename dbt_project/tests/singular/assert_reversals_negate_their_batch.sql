{{ config(meta={'dagster': {'ref': {'name': 'stg_royalties__ledger_lines'}}}) }}
-- A reversal batch negates the batch it reverses: per play, account, party and currency, the two sum to 0.
-- Returns the (reversal, play, account, party, currency) groups that do not cancel.
with lines as (
    select * from {{ ref('stg_royalties__ledger_lines') }}
),

reversals as (
    select batch_id as reversal_batch_id, reverses_batch_id
    from {{ ref('stg_royalties__ledger_batches') }}
    where batch_kind = 'reversal'
),

-- The lines of both batches of each pair, marked by the side they are on.
paired_lines as (
    select
        reversals.reversal_batch_id,
        lines.batch_id = reversals.reversal_batch_id as on_reversal_side,
        coalesce(lines.play_id, '') as play_id,
        lines.account,
        coalesce(lines.party_id, '') as party_id,
        lines.currency,
        lines.amount_minor
    from reversals
    inner join lines
        on lines.batch_id = reversals.reversal_batch_id or lines.batch_id = reversals.reverses_batch_id
)

select
    reversal_batch_id,
    play_id,
    account,
    party_id,
    currency,
    cast(sum(case when on_reversal_side then amount_minor else 0 end) as bigint) as reversal_minor,
    cast(sum(case when on_reversal_side then 0 else amount_minor end) as bigint) as reversed_minor
from paired_lines
group by reversal_batch_id, play_id, account, party_id, currency
having sum(amount_minor) <> 0
