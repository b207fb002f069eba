"""Royalty assets: station tariffs, and the ledger that pays every play exactly once."""

from datetime import UTC, datetime

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.airplay.tables import PLAYLOGS
from assets.catalog.tables import TRACKS
from assets.common import csvfiles as f
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from assets.common.quarantine import Reject, record_rejects
from assets.rights.tables import SPLITS
from assets.royalties.money import MINOR_UNIT_EXPONENT
from assets.royalties.posting import post_plays, shares_by_work, tariff_in_force
from assets.royalties.tables import LEDGER, TARIFFS
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
    deps=[["airplay", "playlogs"], tariffs, ["rights", "splits"], ["catalog", "tracks"]],
    partitions_def=station_day_partitions,
    group_name="royalties",
    kinds={"sql"},
)
def royalty_ledger(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """Double-entry ledger lines for a station-day: one batch per station, day and tariff, balancing to zero.

    Each play debits the station's receivable (seconds × rate, in integer minor units) and credits the parties
    of the recording's work by their approved shares; plays without an approved split are credited to suspense.
    Re-materializing replaces the station-day's batch with identical lines. Plays of a station-day with no
    tariff in force are not posted and go to `quarantine.rejected_rows`.
    """
    db = warehouse.client()
    all_tariffs = db.read(TARIFFS)
    tracks = db.read(TRACKS)
    work_of_track = dict(zip(tracks["track_id"].to_list(), tracks["work_id"].to_list(), strict=True))
    shares = shares_by_work(db.read(SPLITS))
    posted_at = datetime.now(UTC).replace(tzinfo=None)
    frames, unpriced = [], 0
    for station, day in station_days(context.partition_keys):
        plays = db.read(PLAYLOGS, "station_id = ? AND play_date = ?", [station, day])
        tariff = tariff_in_force(all_tariffs, station, day)
        rejects = []
        if tariff is None:
            rejects = [Reject("royalties.tariffs", None, "station_id", station,
                              f"no tariff in force for {station} on {day}: play {p} not posted")
                       for p in plays["play_id"].to_list()]
            lines = LEDGER.empty_frame()
        else:
            lines = post_plays(plays, work_of_track, shares, tariff, station, day, posted_at)
        db.replace(LEDGER, lines, "station_id = ? AND posted_for = ?", [station, day])
        record_rejects(db, "royalties/royalty_ledger", f"{day}|{station}", rejects, context.log.warning)
        frames.append(lines)
        unpriced += len(rejects)
    lines = LEDGER.concat(frames)
    receivable = lines.filter(pl.col("account") == "station_receivable")
    return MaterializeResult(
        metadata=table_metadata(
            lines.drop("posted_at"),
            plays_posted=receivable.height,
            plays_unpriced=unpriced,
            debit_minor=int(receivable["amount_minor"].sum()) if lines.height else 0,
            suspense_minor=int(-lines.filter(pl.col("account") == "suspense")["amount_minor"].sum())
            if lines.height else 0,
            balance_minor=int(lines["amount_minor"].sum()) if lines.height else 0,
        )
    )
