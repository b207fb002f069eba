"""Programme assets: weekly schedules, manual overrides, and the programme each play aired in."""

from datetime import datetime

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.common.keys import (
    AIRPLAY_PLAY_PROGRAMS,
    AIRPLAY_PLAYLOGS,
    AIRPLAY_PROGRAM_OVERRIDES,
    AIRPLAY_PROGRAM_SCHEDULE,
    AIRPLAY_STATIONS,
)
from assets.common.metadata import table_metadata
from assets.common.partitions import day_shard_partitions, range_backfill, run_station_days
from assets.common.paths import DataDirResource
from backbeat.airplay.schedule import PROGRAM_FIELDS, attribute, expand_windows
from backbeat.airplay.station_days import PLAY_PROGRAMS_STAGE, StationDayOutcome, record_outcomes
from backbeat.airplay.tables import PLAY_PROGRAMS, PLAYLOGS, PROGRAM_OVERRIDES, PROGRAM_WINDOWS, STATIONS
from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject, record_rejects
from backbeat.common.reference import keep_last_good
from integrations.warehouse import WarehouseResource


def utc_timestamp(value: str) -> datetime:
    """ISO-8601 with a trailing Z (or +00:00), as a naive UTC datetime."""
    text = value.strip()
    if not text.endswith(("Z", "+00:00")):
        raise f.FieldError("must be an ISO-8601 UTC time ending in Z")
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        raise f.FieldError("is not an ISO-8601 time") from None


OVERRIDE_FIELDS = {
    "station_id": f.text,
    "start_utc": utc_timestamp,
    "end_utc": utc_timestamp,
    "program_id": f.text,
    "changed_by": f.text,
    "changed_at": utc_timestamp,
    "note": f.optional_text,
}


def _known_station(rows: list[dict], stations: set[str], rejects: list[Reject]) -> list[dict]:
    kept = []
    for row in rows:
        if row["station_id"] in stations:
            kept.append(row)
        else:
            rejects.append(
                Reject(
                    row["_source_file"],
                    row["_row"],
                    "station_id",
                    row["station_id"],
                    "station_id is not in airplay.stations",
                )
            )
    return kept


@asset(key=AIRPLAY_PROGRAM_SCHEDULE, deps=[AIRPLAY_STATIONS], group_name="airplay", kinds={"csv", "sql"})
def program_schedule(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per weekly programme window (station-local time), from `inbox/airplay/programs.csv`.

    Days like `mon-fri` or `sat,sun`; a window ending at or before its start crosses local midnight. A window
    that overlaps another of the same station, or names an unknown station, goes to quarantine.
    """
    db = warehouse.client()
    parsed = f.read_csv(data_dir.inbox / "airplay" / "programs.csv", PROGRAM_FIELDS)
    rejects = list(parsed.rejects)
    rows = _known_station(parsed.rows, set(db.read(STATIONS)["station_id"].to_list()), rejects)
    windows, clashes = expand_windows(rows)
    # A row is a weekly pattern, not a table key: any rejected row means the file removes no window.
    kept = keep_last_good(
        db,
        PROGRAM_WINDOWS,
        "airplay/program_schedule",
        PROGRAM_WINDOWS.from_rows(windows),
        complete=parsed.complete,
        inbox=data_dir.inbox,
        unknown_rejects=bool(rejects + clashes),
        log=context.log.warning,
    )
    frame = kept.frame
    record_rejects(db, "airplay/program_schedule", "", rejects + clashes, context.log.warning)
    return MaterializeResult(
        metadata=table_metadata(
            frame,
            programs=frame["program_id"].n_unique() if frame.height else 0,
            rejected_rows=len(rejects + clashes),
            **kept.metadata(),
        )
    )


@asset(key=AIRPLAY_PROGRAM_OVERRIDES, deps=[AIRPLAY_STATIONS], group_name="airplay", kinds={"csv", "sql"})
def program_overrides(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per manual correction of which programme aired, from `inbox/airplay/program_overrides.csv`.

    Each keeps who made it (`changed_by`), when (`changed_at`) and why; the latest correction covering a play
    wins over the weekly schedule. Corrections are appended to the file, never edited, so history is kept.
    """
    db = warehouse.client()
    parsed = f.read_csv(data_dir.inbox / "airplay" / "program_overrides.csv", OVERRIDE_FIELDS)
    rejects = list(parsed.rejects)
    rows = []
    known = _known_station(parsed.rows, set(db.read(STATIONS)["station_id"].to_list()), rejects)
    override_key = {k: OVERRIDE_FIELDS[k] for k in ("station_id", "start_utc", "changed_at")}
    rejected_keys, unknown = parsed.rejected_keys(override_key)
    rejected_keys |= {tuple(r[k] for k in override_key) for r in parsed.rows if r not in known}
    for row in known:
        if row["end_utc"] <= row["start_utc"]:
            rejected_keys.add(tuple(row[k] for k in override_key))
            rejects.append(
                Reject(
                    row["_source_file"], row["_row"], "end_utc", str(row["end_utc"]), "end_utc must be after start_utc"
                )
            )
        else:
            rows.append({**row, "source_file": row["_source_file"], "source_row": row["_row"]})
    kept = keep_last_good(
        db,
        PROGRAM_OVERRIDES,
        "airplay/program_overrides",
        PROGRAM_OVERRIDES.from_rows(rows),
        complete=parsed.complete,
        inbox=data_dir.inbox,
        rejected_keys=rejected_keys,
        unknown_rejects=unknown,
        log=context.log.warning,
    )
    frame = kept.frame
    record_rejects(db, "airplay/program_overrides", "", rejects, context.log.warning)
    return MaterializeResult(
        metadata=table_metadata(frame.drop("source_file"), rejected_rows=len(rejects), **kept.metadata())
    )


@asset(
    key=AIRPLAY_PLAY_PROGRAMS,
    deps=[AIRPLAY_PLAYLOGS, program_schedule, program_overrides],
    partitions_def=day_shard_partitions,
    backfill_policy=range_backfill,
    group_name="airplay",
    kinds={"sql"},
)
def play_programs(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """One row per play of a station-day: the programme (show) it aired in, and how that was decided.

    Judged at the play's midpoint: a manual override covering it (the latest wins), else the station's weekly
    schedule in its own time zone (daylight saving included), else `unscheduled`.
    """
    db = warehouse.client()
    windows, overrides = db.read(PROGRAM_WINDOWS), db.read(PROGRAM_OVERRIDES)
    zones = dict(db.read(STATIONS).select("station_id", "timezone").iter_rows())
    frames, outcomes = [], []
    for station, day in run_station_days(context, db, PLAY_PROGRAMS_STAGE):
        plays = db.read(PLAYLOGS, "station_id = ? AND play_date = ?", [station, day])
        rows = []
        for play_id, start, end in plays.select("play_id", "start_utc", "end_utc").iter_rows():
            found = attribute(station, start, end, zones.get(station, "UTC"), windows, overrides)
            rows.append(
                {
                    "play_id": play_id,
                    "station_id": station,
                    "play_date": day,
                    "program_id": found.program_id,
                    "program_name": found.program_name,
                    "attribution": found.source,
                    "override_by": found.changed_by,
                    "override_at": found.changed_at,
                }
            )
        frame = PLAY_PROGRAMS.from_rows(rows)
        db.replace(PLAY_PROGRAMS, frame, "station_id = ? AND play_date = ?", [station, day])
        frames.append(frame)
        outcomes.append(StationDayOutcome(station, day, frame.height))
    record_outcomes(db, PLAY_PROGRAMS_STAGE, outcomes, context.run.run_id)
    frame = PLAY_PROGRAMS.concat(frames)
    counts = frame.group_by("attribution").len() if frame.height else pl.DataFrame({"attribution": [], "len": []})
    return MaterializeResult(metadata=table_metadata(frame, **{f"plays_{a}": n for a, n in counts.iter_rows()}))
