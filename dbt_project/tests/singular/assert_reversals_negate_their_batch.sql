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

reversal_amounts as (
    select
        reversals.reversal_batch_id,
        coalesce(lines.play_id, '') as play_id,
        lines.account,
        coalesce(lines.party_id, '') as party_id,
        lines.currency,
        cast(sum(lines.amount_minor) as bigint) as amount_minor
    from reversals
    inner join lines on lines.batch_id = reversals.reversal_batch_id
    group by reversals.reversal_batch_id, coalesce(lines.play_id, ''), lines.account,
        coalesce(lines.party_id, ''), lines.currency
),

reversed_amounts as (
    select
        reversals.reversal_batch_id,
        coalesce(lines.play_id, '') as play_id,
        lines.account,
        coalesce(lines.party_id, '') as party_id,
        lines.currency,
        cast(sum(lines.amount_minor) as bigint) as amount_minor
    from reversals
    inner join lines on lines.batch_id = reversals.reverses_batch_id
    group by reversals.reversal_batch_id, coalesce(lines.play_id, ''), lines.account,
        coalesce(lines.party_id, ''), lines.currency
)

select
    coalesce(reversal_amounts.reversal_batch_id, reversed_amounts.reversal_batch_id) as reversal_batch_id,
    coalesce(reversal_amounts.play_id, reversed_amounts.play_id) as play_id,
    coalesce(reversal_amounts.account, reversed_amounts.account) as account,
    coalesce(reversal_amounts.party_id, reversed_amounts.party_id) as party_id,
    coalesce(reversal_amounts.currency, reversed_amounts.currency) as currency,
    reversal_amounts.amount_minor as reversal_minor,
    reversed_amounts.amount_minor as reversed_minor
from reversal_amounts
full outer join reversed_amounts
    on reversal_amounts.reversal_batch_id = reversed_amounts.reversal_batch_id
    and reversal_amounts.play_id = reversed_amounts.play_id
    and reversal_amounts.account = reversed_amounts.account
    and reversal_amounts.party_id = reversed_amounts.party_id
    and reversal_amounts.currency = reversed_amounts.currency
where coalesce(reversal_amounts.amount_minor, 0) + coalesce(reversed_amounts.amount_minor, 0) <> 0
