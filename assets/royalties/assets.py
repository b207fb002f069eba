"""Royalty assets: station tariffs, and the ledger that pays every play exactly once."""

from datetime import UTC, datetime

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset

from assets.common import csvfiles as f
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from assets.common.quarantine import Reject, record_rejects
from assets.royalties.ledger import post_station_days
from assets.royalties.money import MINOR_UNIT_EXPONENT
from assets.royalties.tables import TARIFFS
from integrations.warehouse import WarehouseResource
from orchestration.partitions import station_day_partitions, station_days

TARIFF_FIELDS = {
    "station_id": f.text,
    "currency": f.matching("|".join(MINOR_UNIT_EXPONENT), "a supported ISO 4217 currency"),
    "rate_per_second": f.decimal,
    "effective_from": f.iso_date,
}


@asset(key=["royalties", "tariffs"], group_name="royalties", kinds={"csv", "sql"})
def tariffs(context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
            ) -> MaterializeResult:
    """One row per station rate (currency per second of airplay) and the days it is in force.

    Read from `inbox/royalties/tariffs.csv`; a new rate for a station ends the previous one on its start date.
    """
    parsed = f.reject_duplicates(
        f.read_csv(data_dir.inbox / "royalties" / "tariffs.csv", TARIFF_FIELDS),
        lambda r: (r["station_id"], r["effective_from"]), "effective_from",
    )
    rows, rejects = [], list(parsed.rejects)
    for row in parsed.rows:
        if row["rate_per_second"] < 0:
            rejects.append(Reject(row["_source_file"], row["_row"], "rate_per_second", str(row["rate_per_second"]),
                                  "rate_per_second must not be negative"))
        else:
            rows.append({**row, "tariff_id": f"{row['station_id']}:{row['effective_from']}"})
    frame = (
        pl.DataFrame([{k: r[k] for k in ("tariff_id", "station_id", "currency", "effective_from")} for r in rows],
                     schema={k: TARIFFS.polars_schema[k] for k in ("tariff_id", "station_id", "currency",
                                                                     "effective_from")})
        .with_columns(rate_per_second=pl.Series([r["rate_per_second"] for r in rows], dtype=pl.Decimal(18, 6)))
        .sort("station_id", "effective_from")
        .with_columns(effective_to=pl.col("effective_from").shift(-1).over("station_id"))
    )
    frame = TARIFFS.conform(frame)
    db = warehouse.client()
    db.replace(TARIFFS, frame)
    record_rejects(db, "royalties/tariffs", "", rejects, context.log.warning)
    return MaterializeResult(metadata=table_metadata(frame, rejected_rows=len(rejects)))


@asset(
    key=["royalties", "royalty_ledger"],
    deps=[["airplay", "playlogs"], tariffs, ["rights", "splits"], ["rights", "recordings"], ["royalties", "disputes"]],
    partitions_def=station_day_partitions,
    group_name="royalties",
    kinds={"sql", "polars"},
)
def royalty_ledger(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Append-only double-entry ledger: one row per line; per station-day, one active batch balancing to zero.

    Each play debits the station's receivable (seconds × the tariff in force that day, integer minor units) and
    credits the parties of the recording's approved split (else its work's) by weight, largest remainder so
    credits sum exactly to the debit; no approved split credits suspense, an open dispute credits hold, an
    upheld dispute pays nothing. A station-day's batch is `{station}|{day}|{tariff}|r{revision}`: re-running
    with the same inputs posts nothing; when what should be paid changed (split, dispute, tariff), the active
    batch is reversed (`…|reversal`) and a new revision posted. Never updated or deleted. Plays with no tariff
    in force are not posted and go to `quarantine.rejected_rows`.
    """
    keys = station_days(context.partition_keys)
    reason = context.run.tags.get("backbeat/restatement_reason", "")
    summary = post_station_days(warehouse.client(), keys, datetime.now(UTC), reason)
    first, last = keys[0][1], keys[-1][1]
    return MaterializeResult(metadata={
        "station_days": summary.station_days,
        "station_days_unchanged": summary.unchanged,
        "batches_posted": summary.batches_posted,
        "batches_reversed": summary.batches_reversed,
        "plays_posted": summary.plays_posted,
        "plays_unpriced": summary.plays_unpriced,
        "plays_upheld_unpaid": summary.plays_upheld,
        "plays_held": summary.plays_held,
        "lines_written": summary.lines_written,
        "debit_minor": MetadataValue.json(summary.debit_minor),
        "suspense_minor": MetadataValue.json(summary.suspense_minor),
        "hold_minor": MetadataValue.json(summary.hold_minor),
        "balance_minor": MetadataValue.json(summary.balance_minor),
        "window": f"{first} – {last}",
    })
