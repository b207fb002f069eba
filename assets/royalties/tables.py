"""Warehouse tables owned by the royalties domain."""

from integrations.warehouse import Column, table

TARIFFS = table(
    "royalties",
    "tariffs",
    Column("tariff_id", "text", "Tariff id: {station_id}:{effective_from}.", nullable=False),
    Column("station_id", "text", "Station the rate applies to."),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("rate_per_second", "decimal", "Currency units owed per second of airplay."),
    Column("effective_from", "date", "First day the rate applies."),
    Column("effective_to", "date", "First day it no longer applies (the next rate's start); null: open-ended."),
    primary_key=("tariff_id",),
    description="One row per station rate and its validity period.",
)

LEDGER = table(
    "royalties",
    "royalty_ledger",
    Column("batch_id", "text", "Posting batch: {station_id}|{day}|{tariff_id}; every batch sums to zero.",
           nullable=False),
    Column("line_no", "bigint", "Line number within the batch.", nullable=False),
    Column("posted_for", "date", "UTC day of the plays posted (the partition)."),
    Column("station_id", "text", "Station whose airplay is paid for."),
    Column("play_id", "text", "Play that earned the amount (airplay.playlogs)."),
    Column("account", "text", "station_receivable, party_payable or suspense."),
    Column("party_id", "text", "Party credited (party_payable lines only)."),
    Column("amount_minor", "bigint", "Signed amount in minor units: debit positive, credit negative."),
    Column("currency", "text", "ISO 4217 currency code."),
    Column("tariff_id", "text", "Tariff that priced the play."),
    Column("posted_at", "timestamp", "When the batch was posted (UTC)."),
    primary_key=("batch_id", "line_no"),
    description="Double-entry royalty ledger: one row per line; each play debits the station and credits parties.",
)
