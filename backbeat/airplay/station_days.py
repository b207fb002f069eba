"""Which stations a day × shard partition processes, stage by stage, and what it did for each of them.

A stage processes, for its day, every station of its shard that has input for it (the rows of the stage before)
or output already (its own rows, so that input which vanished empties them, idempotently), narrowed to the
stations a run names when it names some (a landing run: the stations with new chunks; a restatement: the queued
ones). Capture's input is the stations table's active stations and the landing files of the day. What each
stage did for each station goes to `airplay.station_day_status`, the per-station view the partitions no longer
give.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import polars as pl

from backbeat.airplay.shards import in_shard, shard_of
from backbeat.airplay.tables import (
    CAPTURE_GAPS,
    DETECTIONS,
    PLAY_PROGRAMS,
    PLAYLOGS,
    STATION_DAY_STATUS,
    STATIONS,
    STREAM_CHUNKS,
)
from backbeat.royalties.tables import LEDGER_BATCHES
from integrations.warehouse import Table, Warehouse

STREAM_CHUNKS_STAGE = "stream_chunks"
DETECTIONS_STAGE = "detections"
PLAYLOGS_STAGE = "playlogs"
PLAY_PROGRAMS_STAGE = "play_programs"
LEDGER_STAGE = "royalty_ledger"

DAY_COLUMNS: dict[str, str] = {
    STREAM_CHUNKS.qualified_name: "chunk_date",
    CAPTURE_GAPS.qualified_name: "gap_date",
    DETECTIONS.qualified_name: "chunk_date",
    PLAYLOGS.qualified_name: "play_date",
    PLAY_PROGRAMS.qualified_name: "play_date",
    LEDGER_BATCHES.qualified_name: "posted_for",
    STATION_DAY_STATUS.qualified_name: "status_date",
}

STAGE_TABLES: dict[str, tuple[tuple[Table, ...], tuple[Table, ...]]] = {
    # stage: (the tables whose stations are its input, the tables it writes)
    STREAM_CHUNKS_STAGE: ((), (STREAM_CHUNKS, CAPTURE_GAPS)),
    DETECTIONS_STAGE: ((STREAM_CHUNKS,), (DETECTIONS,)),
    PLAYLOGS_STAGE: ((DETECTIONS,), (PLAYLOGS,)),
    PLAY_PROGRAMS_STAGE: ((PLAYLOGS,), (PLAY_PROGRAMS,)),
    LEDGER_STAGE: ((PLAYLOGS,), (LEDGER_BATCHES,)),
}
"""Every stage that runs by day × shard."""


def stations_with_rows(db: Warehouse, table: Table, day: date) -> set[str]:
    """The stations that have rows of `day` in `table` (an absent table has none)."""
    db.ensure(table)
    column = DAY_COLUMNS[table.qualified_name]
    found = db.query(
        f"SELECT DISTINCT station_id FROM {table.qualified_name} WHERE {column} = ? AND station_id IS NOT NULL", [day]
    )
    return set(found["station_id"].to_list()) if found.height else set()


def station_row_counts(db: Warehouse, table: Table, day: date) -> dict[str, int]:
    """Rows of `day` in `table`, per station."""
    db.ensure(table)
    column = DAY_COLUMNS[table.qualified_name]
    found = db.query(
        f"SELECT station_id, count(*) AS n FROM {table.qualified_name} WHERE {column} = ? AND station_id IS NOT NULL "
        "GROUP BY station_id",
        [day],
        {"station_id": pl.Utf8, "n": pl.Int64},
    )
    return dict(found.iter_rows())


def active_stations(db: Warehouse) -> set[str]:
    """The stations the stations table says are captured."""
    db.ensure(STATIONS)
    found = db.query("SELECT station_id FROM airplay.stations WHERE active")
    return set(found["station_id"].to_list()) if found.height else set()


def stations_to_process(
    db: Warehouse,
    stage: str,
    shard: str,
    day: date,
    extra_input: Iterable[str] = (),
    only: Sequence[str] | None = None,
) -> list[str]:
    """The stations of `shard` that `stage` processes for `day`: those with input (the stage's input tables, and
    `extra_input`) or with output already; only those of `only` when it is given. Sorted."""
    inputs, outputs = STAGE_TABLES[stage]
    candidates = set(extra_input)
    for table in (*inputs, *outputs):
        candidates |= stations_with_rows(db, table, day)
    stations = in_shard(candidates, shard)
    if only is not None:
        wanted = set(only)
        stations = [station for station in stations if station in wanted]
    return stations


def parse_station_list(tag: str | None) -> list[str] | None:
    """The stations a run's `backbeat/stations` tag names (comma-separated), or None when it names none."""
    if not tag:
        return None
    return sorted({station.strip() for station in tag.split(",") if station.strip()})


@dataclass(frozen=True)
class StationDayOutcome:
    """What a stage did for one station on one day."""

    station_id: str
    day: date
    row_count: int
    detail: str = ""


def record_outcomes(
    db: Warehouse, stage: str, outcomes: Sequence[StationDayOutcome], run_id: str, now: datetime | None = None
) -> int:
    """Write (replacing) the status rows of `outcomes` for `stage`; returns the rows written."""
    if not outcomes:
        return 0
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None)
    frame = STATION_DAY_STATUS.from_rows(
        [
            {
                "station_id": o.station_id,
                "status_date": o.day,
                "stage": stage,
                "shard": shard_of(o.station_id),
                "status": "ok" if o.row_count else "empty",
                "row_count": o.row_count,
                "detail": o.detail,
                "run_id": run_id,
                "updated_at": at,
            }
            for o in outcomes
        ]
    )
    written = 0
    for day in sorted({o.day for o in outcomes}):
        stations = sorted({o.station_id for o in outcomes if o.day == day})
        placeholders = ", ".join("?" for _ in stations)
        written += db.replace(
            STATION_DAY_STATUS,
            frame.filter(frame["status_date"] == day),
            f"stage = ? AND status_date = ? AND station_id IN ({placeholders})",
            [stage, day, *stations],
        )
    return written


def processed_stations(db: Warehouse, stage: str, shard: str, day: date) -> list[str]:
    """The stations `stage` last processed for `day` in `shard` (from the status table), sorted."""
    db.ensure(STATION_DAY_STATUS)
    found = db.query(
        "SELECT station_id FROM airplay.station_day_status WHERE stage = ? AND status_date = ? AND shard = ?",
        [stage, day, shard],
    )
    return sorted(found["station_id"].to_list()) if found.height else []
