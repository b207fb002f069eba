"""Facts the money must satisfy for every station-day: balanced batches, each play paid once, exact reversals, and
an intact hash chain. All blocking: in a run, nothing downstream of a failing station-day is materialized; across
runs, statements and exports verify the whole ledger before they write (`ledger_chain.require_sound_ledger`)."""

import polars as pl
from dagster import AssetCheckExecutionContext, AssetCheckResult, MetadataValue, asset_check

from assets.common.keys import ROYALTIES_ROYALTY_LEDGER
from assets.common.partitions import checked_station_day, day_shard_partitions, per_station_day
from backbeat.airplay.station_days import LEDGER_STAGE
from backbeat.royalties.ledger import LEDGER_ASSET, active_batches
from backbeat.royalties.ledger_chain import verify_ledger
from backbeat.royalties.posting import REVERSAL, dispute_states
from backbeat.royalties.tables import RECEIVABLE
from integrations.warehouse import Warehouse, WarehouseResource

STATION_DAY = "station_id = ? AND posted_for = ?"


def _batches(db: Warehouse, station: str, day) -> pl.DataFrame:
    return db.query(
        f"SELECT batch_id, batch_kind, station_id, posted_for, revision, basis_hash, reverses_batch_id, lines, "
        f"debit_minor FROM royalties.ledger_batches WHERE {STATION_DAY}",
        [station, day],
        {
            "batch_id": pl.Utf8,
            "batch_kind": pl.Utf8,
            "station_id": pl.Utf8,
            "posted_for": pl.Date,
            "revision": pl.Int64,
            "basis_hash": pl.Utf8,
            "reverses_batch_id": pl.Utf8,
            "lines": pl.Int64,
            "debit_minor": pl.Int64,
        },
    )


@asset_check(
    asset=ROYALTIES_ROYALTY_LEDGER,
    partitions_def=day_shard_partitions,
    blocking=True,
    description="Every ledger batch of the station-day sums to zero per currency, and its header "
    "(royalties.ledger_batches) states its line count and debit.",
)
@per_station_day(LEDGER_STAGE)
def ledger_batches_balance(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    station, day = checked_station_day(context)
    db = warehouse.client()
    sums = db.query(
        "SELECT batch_id, currency, CAST(sum(amount_minor) AS BIGINT) AS balance, count(*) AS lines, "
        "CAST(sum(CASE WHEN amount_minor > 0 THEN amount_minor ELSE 0 END) AS BIGINT) AS debit "
        f"FROM royalties.royalty_ledger WHERE {STATION_DAY} GROUP BY batch_id, currency",
        [station, day],
        {"batch_id": pl.Utf8, "currency": pl.Utf8, "balance": pl.Int64, "lines": pl.Int64, "debit": pl.Int64},
    )
    unbalanced = sums.filter(pl.col("balance") != 0)
    headers = _batches(db, station, day)
    compared = (
        sums.group_by("batch_id")
        .agg(pl.col("lines").sum(), pl.col("debit").sum())
        .join(
            headers.select("batch_id", header_lines="lines", header_debit="debit_minor"),
            on="batch_id",
            how="full",
            coalesce=True,
        )
    )
    mismatched = compared.filter(
        pl.col("lines").ne_missing(pl.col("header_lines"))
        | pl.col("debit").fill_null(0).ne_missing(pl.col("header_debit"))
    )
    return AssetCheckResult(
        passed=unbalanced.is_empty() and mismatched.is_empty(),
        metadata={
            "batches": compared.height,
            "unbalanced_batches": unbalanced.height,
            "headers_not_matching_lines": mismatched.height,
            "lines": int(sums["lines"].sum()) if sums.height else 0,
        },
    )


@asset_check(
    asset=ROYALTIES_ROYALTY_LEDGER,
    partitions_def=day_shard_partitions,
    blocking=True,
    description="Every play of the station-day has exactly one station receivable line in the active "
    "batch, unless it was quarantined (no tariff) or its dispute was upheld (never paid).",
)
@per_station_day(LEDGER_STAGE)
def ledger_pays_every_play_once(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    station, day = checked_station_day(context)
    db = warehouse.client()
    active = active_batches(_batches(db, station, day))
    active_id = active["active_batch_id"].item() if active.height else None
    debits = db.query(
        f"SELECT play_id, count(*) AS debits FROM royalties.royalty_ledger WHERE {STATION_DAY} AND batch_id = ? "
        "AND account = ? GROUP BY play_id",
        [station, day, active_id, RECEIVABLE],
        {"play_id": pl.Utf8, "debits": pl.Int64},
    )
    plays = db.query(
        "SELECT play_id FROM airplay.playlogs WHERE station_id = ? AND play_date = ?",
        [station, day],
        {"play_id": pl.Utf8},
    )
    disputes = db.query(
        "SELECT play_id, status, resolution FROM royalties.disputes WHERE station_id = ? AND play_date = ?",
        [station, day],
        {"play_id": pl.Utf8, "status": pl.Utf8, "resolution": pl.Utf8},
    )
    upheld = dispute_states(disputes).filter(pl.col("dispute_state") == "upheld")["play_id"]
    quarantined = (
        db.scalar(
            "SELECT count(*) FROM quarantine.rejected_rows WHERE asset = ? AND partition_key = ?",
            [LEDGER_ASSET, f"{day}|{station}"],
        )
        or 0
    )
    counted = plays.join(debits, on="play_id", how="full", coalesce=True).with_columns(
        debits=pl.col("debits").fill_null(0),
        known=pl.col("play_id").is_in(plays["play_id"].implode()),
        upheld=pl.col("play_id").is_in(upheld.implode()),
    )
    must_pay = counted.filter(pl.col("known") & ~pl.col("upheld"))
    unpaid = must_pay.filter(pl.col("debits") == 0).height
    paid_twice = counted.filter(pl.col("debits") > 1).height
    upheld_paid = counted.filter(pl.col("upheld") & (pl.col("debits") > 0)).height
    unknown = counted.filter(~pl.col("known")).height
    return AssetCheckResult(
        passed=paid_twice == 0 and upheld_paid == 0 and unknown == 0 and unpaid == int(quarantined),
        metadata={
            "plays": plays.height,
            "active_batch": active_id or "",
            "unpaid": unpaid,
            "paid_more_than_once": paid_twice,
            "upheld_disputes": upheld.len(),
            "upheld_but_paid": upheld_paid,
            "lines_for_unknown_plays": unknown,
            "quarantined_for_tariff": int(quarantined),
        },
    )


@asset_check(
    asset=ROYALTIES_ROYALTY_LEDGER,
    partitions_def=day_shard_partitions,
    blocking=True,
    description="Every reversal batch of the station-day is the exact negation of the batch it reverses: "
    "same lines (play, account, party, currency), opposite amounts.",
)
@per_station_day(LEDGER_STAGE)
def ledger_reversals_negate_their_batches(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    station, day = checked_station_day(context)
    db = warehouse.client()
    reversals = (
        _batches(db, station, day).filter(pl.col("batch_kind") == REVERSAL).select("batch_id", "reverses_batch_id")
    )
    if reversals.is_empty():
        return AssetCheckResult(passed=True, metadata={"reversals": 0, "mismatched_lines": 0})
    ids = reversals["batch_id"].to_list() + reversals["reverses_batch_id"].to_list()
    lines = db.query(
        f"SELECT batch_id, line_no, play_id, account, party_id, currency, amount_minor FROM royalties.royalty_ledger "
        f"WHERE {STATION_DAY} AND batch_id IN ({', '.join('?' for _ in ids)})",
        [station, day, *ids],
        {
            "batch_id": pl.Utf8,
            "line_no": pl.Int64,
            "play_id": pl.Utf8,
            "account": pl.Utf8,
            "party_id": pl.Utf8,
            "currency": pl.Utf8,
            "amount_minor": pl.Int64,
        },
    )
    reversing = lines.join(reversals, on="batch_id", how="inner")
    original = lines.join(
        reversals.select(reverses_batch_id="reverses_batch_id"),
        left_on="batch_id",
        right_on="reverses_batch_id",
        how="semi",
    ).rename({"batch_id": "reverses_batch_id"})
    paired = reversing.join(original, on=["reverses_batch_id", "line_no"], how="full", coalesce=True, suffix="_orig")
    mismatched = paired.filter(
        pl.col("batch_id").is_null()
        | pl.col("amount_minor_orig").is_null()
        | (pl.col("amount_minor") != -pl.col("amount_minor_orig"))
        | pl.col("play_id").ne_missing(pl.col("play_id_orig"))
        | pl.col("account").ne_missing(pl.col("account_orig"))
        | pl.col("party_id").ne_missing(pl.col("party_id_orig"))
        | pl.col("currency").ne_missing(pl.col("currency_orig"))
    )
    return AssetCheckResult(
        passed=mismatched.is_empty(),
        metadata={
            "reversals": reversals.height,
            "reversal_lines": reversing.height,
            "mismatched_lines": mismatched.height,
        },
    )


@asset_check(
    asset=ROYALTIES_ROYALTY_LEDGER,
    partitions_def=day_shard_partitions,
    blocking=True,
    description="The station-day's batches are sealed and chained (royalties.ledger_chain): each header's "
    "lines_hash recomputes from its lines, its chain_hash from the previous batch of the stream, "
    "the chain has no gap; and its lines keep the ledger's constraints (known account, currency "
    "and side, a header for every batch, one receivable debit per play per batch).",
)
@per_station_day(LEDGER_STAGE)
def ledger_chain_intact(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    station, day = checked_station_day(context)
    with warehouse.client().connect() as conn:
        found = verify_ledger(conn, station, day)
    return AssetCheckResult(
        passed=not found.problems,
        metadata={
            "batches": found.batches,
            "lines": found.lines,
            "problems": len(found.problems),
            "named": MetadataValue.md("\n".join(f"- {p}" for p in found.problems) or "_none_"),
        },
    )
