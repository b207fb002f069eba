-- grain: one row per ledger line (batch_id x line_no)
with ledger_lines as (
    select * from {{ ref('stg_royalties__ledger_lines') }}
),

batches as (
    select * from {{ ref('stg_royalties__ledger_batches') }}
),

parties as (
    select * from {{ ref('stg_rights__parties') }}
),

stations as (
    select * from {{ ref('stg_airplay__stations') }}
)

select
    ledger_lines.ledger_line_id,
    ledger_lines.batch_id,
    ledger_lines.line_no,
    ledger_lines.entry_kind,
    batches.revision as batch_revision,
    batches.reverses_batch_id,
    batches.reason as batch_reason,
    ledger_lines.posted_for,
    ledger_lines.accounting_period,
    ledger_lines.posted_at,
    ledger_lines.account,
    ledger_lines.station_id,
    stations.station_name,
    ledger_lines.play_id,
    ledger_lines.recording_id,
    ledger_lines.party_id,
    parties.party_name,
    ledger_lines.tariff_id,
    ledger_lines.amount_minor,
    case when ledger_lines.amount_minor > 0 then ledger_lines.amount_minor else 0 end as debit_minor,
    case when ledger_lines.amount_minor < 0 then -ledger_lines.amount_minor else 0 end as credit_minor,
    ledger_lines.currency
from ledger_lines
left join batches on ledger_lines.batch_id = batches.batch_id
left join parties on ledger_lines.party_id = parties.party_id
left join stations on ledger_lines.station_id = stations.station_id
