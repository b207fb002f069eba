"""Royalty assets: station tariffs, and the ledger that pays every play exactly once."""

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal

import polars as pl
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, MetadataValue, asset, multi_asset

from assets.common.keys import (
    AIRPLAY_PLAYLOGS,
    RIGHTS_RECORDINGS,
    RIGHTS_SPLITS,
    ROYALTIES_DISPUTES,
    ROYALTIES_ROYALTY_LEDGER,
    ROYALTIES_TARIFFS,
)
from assets.common.metadata import table_metadata
from assets.common.partitions import day_shard_partitions, range_backfill, run_station_days, shard_days
from assets.common.paths import DataDirResource
from assets.common.table_specs import table_key, table_spec
from backbeat.airplay.station_days import LEDGER_STAGE, StationDayOutcome, record_outcomes
from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject, record_rejects
from backbeat.common.reference import read_approvals, reconcile, record_reference_event
from backbeat.royalties.ledger import post_station_days
from backbeat.royalties.money import MINOR_UNIT_EXPONENT
from backbeat.royalties.tables import LEDGER_BATCHES, TARIFFS
from integrations.warehouse import Warehouse, WarehouseResource

TARIFF_KEY = {"station_id": f.text, "effective_from": f.iso_date}
TARIFF_FIELDS = {
    **TARIFF_KEY,
    "currency": f.matching("|".join(MINOR_UNIT_EXPONENT), "a supported ISO 4217 currency"),
    "rate_per_second": f.decimal_places(6),  # the warehouse stores DECIMAL(18, 6): a finer rate would round
    "zero_rate": f.optional_column(f.boolean, "no"),  # a rate of 0 bills nothing: the file must say so
}


@asset(key=ROYALTIES_TARIFFS, group_name="royalties", kinds={"csv", "sql"})
def tariffs(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per station rate (currency per second of airplay) and the days it is in force.

    Read from `inbox/royalties/tariffs.csv`; a new rate for a station ends the previous one on its start date.
    """
    parsed = f.reject_duplicates(
        f.read_csv(data_dir.inbox / "royalties" / "tariffs.csv", TARIFF_FIELDS),
        lambda r: (r["station_id"], r["effective_from"]),
        "effective_from",
    )
    rows, rejects = [], list(parsed.rejects)
    rejected_keys, unknown_keys = parsed.rejected_keys(TARIFF_KEY)
    for row in parsed.rows:
        problem = tariff_rate_problem(row["rate_per_second"], row["zero_rate"])
        if problem:
            rejects.append(
                Reject(row["_source_file"], row["_row"], "rate_per_second", str(row["rate_per_second"]), problem)
            )
            rejected_keys.add((row["station_id"], row["effective_from"]))
        else:
            rows.append({**row, "tariff_id": f"{row['station_id']}:{row['effective_from']}"})
    columns = ("tariff_id", "station_id", "currency", "effective_from")
    incoming = pl.DataFrame(
        [{k: r[k] for k in columns} for r in rows], schema={k: TARIFFS.polars_schema[k] for k in columns}
    ).with_columns(rate_per_second=pl.Series([r["rate_per_second"] for r in rows], dtype=pl.Decimal(18, 6)))
    db = warehouse.client()
    previous = db.read(TARIFFS).drop("effective_to")
    kept = reconcile(
        "royalties/tariffs",
        previous,
        incoming.select(previous.columns),
        list(TARIFF_KEY),
        complete=parsed.complete,
        rejected_keys=rejected_keys,
        unknown_rejects=unknown_keys,
        approved=read_approvals(data_dir.inbox),
    )
    frame = TARIFFS.conform(
        kept.frame.sort("station_id", "effective_from").with_columns(
            effective_to=pl.col("effective_from").shift(-1).over("station_id")
        )
    )
    db.replace(TARIFFS, frame)
    record_reference_event(db, "royalties/tariffs", kept)
    record_rejects(db, "royalties/tariffs", "", rejects, context.log.warning)
    for note in kept.reasons:
        context.log.warning(f"royalties/tariffs: {note}")
    return MaterializeResult(metadata=table_metadata(frame, rejected_rows=len(rejects), **kept.metadata()))


def tariff_rate_problem(rate: Decimal, zero_rate: bool) -> str | None:
    """Why a rate cannot be used, or None: negative, or zero without the file saying `zero_rate=yes`."""
    if rate < 0:
        return "rate_per_second must not be negative"
    if rate == 0 and not zero_rate:
        return "rate_per_second is 0: a station billed nothing needs zero_rate=yes on its row"
    if rate != 0 and zero_rate:
        return "zero_rate=yes but rate_per_second is not 0"
    return None


LEDGER_DEPS = [
    AIRPLAY_PLAYLOGS,
    tariffs,
    RIGHTS_SPLITS,
    RIGHTS_RECORDINGS,
    ROYALTIES_DISPUTES,
]


@multi_asset(
    name="royalties__royalty_ledger",
    specs=[
        AssetSpec(ROYALTIES_ROYALTY_LEDGER, deps=LEDGER_DEPS, group_name="royalties", kinds={"sql", "polars"}),
        table_spec(LEDGER_BATCHES, "royalties", "royalties/royalty_ledger", {"sql"}, deps=LEDGER_DEPS),
    ],
    partitions_def=day_shard_partitions,
    backfill_policy=range_backfill,
)
def royalty_ledger(context: AssetExecutionContext, warehouse: WarehouseResource) -> Iterator[MaterializeResult]:
    """Append-only double-entry ledger: one row per line; per station-day, one active batch balancing to zero.

    Each play debits the station's receivable (seconds × the tariff in force that day, integer minor units) and
    credits the parties of the recording's approved split (else its work's) by weight, largest remainder so
    credits sum exactly to the debit; no approved split credits suspense, an open dispute credits hold, an
    upheld dispute pays nothing. A station-day's batch is `{station}|{day}|{tariff}|r{revision}`: re-running
    with the same inputs posts nothing; when what should be paid changed (split, dispute, tariff), the active
    batch is reversed (`…|reversal`) and a new revision posted. Never updated or deleted. Plays with no tariff
    in force are not posted and go to `quarantine.rejected_rows`. One row per batch in `royalties.ledger_batches`.
    """
    db = warehouse.client()
    keys = run_station_days(context, db, LEDGER_STAGE)
    reason = context.run.tags.get("backbeat/restatement_reason", "")
    summary = post_station_days(db, keys, datetime.now(UTC), reason)
    record_outcomes(db, LEDGER_STAGE, _plays_paid_for(db, keys), context.run.run_id)
    days = [day for _, day in shard_days(list(context.partition_keys))]
    first, last = min(days), max(days)
    yield MaterializeResult(
        asset_key=ROYALTIES_ROYALTY_LEDGER,
        metadata={
            "stations": len({station for station, _ in keys}),
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
        },
    )
    yield MaterializeResult(
        asset_key=table_key(LEDGER_BATCHES),
        metadata={
            "batches_posted": summary.batches_posted,
            "batches_reversed": summary.batches_reversed,
            "window": f"{first} – {last}",
        },
    )


def _plays_paid_for(db: Warehouse, keys: list[tuple[str, date]]) -> list[StationDayOutcome]:
    """One outcome per station-day posted: its plays (what the active batch pays for, or quarantines)."""
    outcomes = []
    for day in sorted({day for _, day in keys}):
        stations = sorted({station for station, d in keys if d == day})
        found = db.query(
            "SELECT station_id, count(*) AS plays FROM airplay.playlogs WHERE play_date = ? "
            f"AND station_id IN ({', '.join('?' for _ in stations)}) GROUP BY station_id",
            [day, *stations],
            {"station_id": pl.Utf8, "plays": pl.Int64},
        )
        plays = dict(found.iter_rows())
        outcomes += [StationDayOutcome(station, day, plays.get(station, 0)) for station in stations]
    return outcomes
