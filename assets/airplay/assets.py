"""Airplay assets: stations, reference fingerprints, captured chunks, detections, and the plays they make."""

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import polars as pl
from dagster import AssetExecutionContext, AssetSpec, MaterializeResult, asset, multi_asset

from assets.common.keys import (
    AIRPLAY_CAPTURE_GAPS,
    AIRPLAY_DETECTIONS,
    AIRPLAY_PLAYLOGS,
    AIRPLAY_REFERENCE_FINGERPRINTS,
    AIRPLAY_STATION_DAY_STATUS,
    AIRPLAY_STATIONS,
    AIRPLAY_STREAM_CHUNKS,
    CATALOG_TRACKS,
)
from assets.common.metadata import table_metadata
from assets.common.partitions import day_shard_partitions, day_window, range_backfill, run_station_days
from assets.common.paths import DataDirResource
from assets.common.table_specs import table_spec
from audio.decode import SAMPLE_RATE, AudioDecodeError, decode_audio, probe_duration_s
from audio.index import FingerprintIndex, build_index
from audio.matcher import ChunkRef, match_chunks
from audio.plays import merge_detections
from backbeat.airplay.landing import LandingListing, stations_named
from backbeat.airplay.shards import by_shard
from backbeat.airplay.station_days import (
    DETECTIONS_STAGE,
    PLAYLOGS_STAGE,
    STREAM_CHUNKS_STAGE,
    StationDayOutcome,
    active_stations,
    record_outcomes,
)
from backbeat.airplay.tables import (
    CAPTURE_GAPS,
    DETECTION_CANDIDATES,
    DETECTIONS,
    PLAYLOGS,
    STATION_DAY_STATUS,
    STATIONS,
    STREAM_CHUNKS,
)
from backbeat.airplay.truncation import ChunkSize, Truncation, find_truncations
from backbeat.catalog.tables import TRACKS
from backbeat.common import csvfiles as f
from backbeat.common.quarantine import Reject, record_rejects
from backbeat.common.reference import keep_last_good
from backbeat.common.safe_paths import PathOutsideRoot, confined_path
from integrations.radio.gaps import read_gaps
from integrations.warehouse import WarehouseResource

MIN_PLAY_SECONDS = 30.0
BOUNDARY_MARGIN = timedelta(hours=1)  # longer than any play, so a play across midnight is seen whole
STATION_FIELDS = {
    "station_id": f.matching(r"[a-z0-9][a-z0-9-]*", "a station id (lowercase letters, digits, hyphens)"),
    "name": f.text,
    "stream_url": f.matching(r"https?://\S+", "an http(s) URL"),
    "active": f.boolean,
    "timezone": f.text,
}


@asset(key=AIRPLAY_STATIONS, group_name="airplay", kinds={"csv", "sql"})
def airplay_stations(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per radio station, from `inbox/airplay/stations.csv`; each active station is captured, matched and
    paid in the day × shard partitions of its shard (`backbeat.airplay.shards`)."""
    parsed = f.reject_duplicates(
        f.read_csv(data_dir.inbox / "airplay" / "stations.csv", STATION_FIELDS), lambda r: r["station_id"], "station_id"
    )
    db = warehouse.client()
    rejected_keys, unknown = parsed.rejected_keys({"station_id": STATION_FIELDS["station_id"]})
    kept = keep_last_good(
        db,
        STATIONS,
        "airplay/stations",
        STATIONS.from_rows(parsed.rows),
        complete=parsed.complete,
        inbox=data_dir.inbox,
        rejected_keys=rejected_keys,
        unknown_rejects=unknown,
        log=context.log.warning,
    )
    frame = kept.frame
    record_rejects(db, "airplay/stations", "", parsed.rejects, context.log.warning)
    shards = by_shard(frame.filter(pl.col("active"))["station_id"].to_list())
    return MaterializeResult(
        metadata=table_metadata(
            frame,
            rejected_rows=len(parsed.rejects),
            shards_with_stations=len(shards),
            most_stations_in_a_shard=max((len(s) for s in shards.values()), default=0),
            **kept.metadata(),
        )
    )


@asset(
    key=AIRPLAY_REFERENCE_FINGERPRINTS,
    deps=[CATALOG_TRACKS],
    group_name="airplay",
    kinds={"parquet", "polars"},
)
def reference_fingerprints(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """Landmark fingerprints of every catalog track that has reference audio, in a Parquet index.

    Incremental: a track is fingerprinted again only when its audio file's content changes; tracks gone from
    the catalog are dropped. Unreadable reference audio goes to `quarantine.rejected_rows`.
    """
    db = warehouse.client()
    tracks = db.read(TRACKS, "audio_path IS NOT NULL")
    catalog_dir = data_dir.inbox / "catalog"
    sources, refused = [], []
    for track_id, audio_path in tracks.select("track_id", "audio_path").iter_rows():
        try:
            sources.append((track_id, confined_path(catalog_dir, audio_path)))
        except PathOutsideRoot as exc:
            refused.append(Reject(audio_path, None, "audio_path", track_id, str(exc)))
    data_dir.pull_index()  # shared storage (if configured): start from the shared index, stay incremental
    report = build_index(sources, data_dir.fingerprint_index)
    data_dir.push_index()
    rejects = refused + [
        Reject(path, None, "audio_path", track_id, reason) for track_id, path, reason in report.failures
    ]
    record_rejects(db, "airplay/reference_fingerprints", "", rejects, context.log.warning)
    hours = report.reference_seconds / 3600
    return MaterializeResult(
        metadata={
            "tracks_indexed": report.tracks_total - len(report.failures),
            "tracks_fingerprinted": report.tracks_fingerprinted,
            "tracks_reused": report.tracks_reused,
            "tracks_removed": report.tracks_removed,
            "failures": len(report.failures),
            "hashes": report.n_hashes,
            "index_bytes": report.index_bytes,
            "reference_hours": round(hours, 3),
            "index_mib_per_reference_hour": round(report.index_bytes / 2**20 / hours, 2) if hours else 0.0,
            "index_dir": str(data_dir.fingerprint_index),
        }
    )


STREAM_CHUNKS_DOC = """One row per readable 30 s chunk captured from a station on a UTC day, found in landing.

Files of the station with a malformed name, and chunks whose audio cannot be read, go to
`quarantine.rejected_rows` with the file and the reason; the other chunks are stored. Stretches that
capture missed (from `landing/_gaps/`) are stored in `airplay.capture_gaps` (written in the same step), never
hidden."""


@multi_asset(
    name="airplay__stream_chunks",
    partitions_def=day_shard_partitions,
    backfill_policy=range_backfill,
    specs=[
        AssetSpec(AIRPLAY_STREAM_CHUNKS, group_name="airplay", kinds={"audio", "sql"}, description=STREAM_CHUNKS_DOC),
        table_spec(CAPTURE_GAPS, "airplay", "airplay/stream_chunks", {"audio", "sql"}),
        table_spec(STATION_DAY_STATUS, "airplay", "airplay/stream_chunks", {"sql"}),
    ],
)
def stream_chunks(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """`airplay/stream_chunks`, the capture gaps beside it (see `STREAM_CHUNKS_DOC`) and the capture stage's rows of
    `airplay.station_day_status`."""
    rows, total_rejects, gap_seconds, truncated_chunks = [], 0, 0.0, 0
    db = warehouse.client()
    captured = active_stations(db)
    landing = LandingListing.of(data_dir.landing)  # listed once per run: the folder is flat and large
    shared = data_dir.shared_landing_names()
    station_days = run_station_days(
        context,
        db,
        STREAM_CHUNKS_STAGE,
        lambda day: captured | landing.stations_on(day) | stations_named(day, shared),
    )
    if data_dir.storage_url:  # shared storage: bring the station-days' chunks (and gap logs) from it, list again
        for station, day in station_days:
            data_dir.pull_landing(station, day)
        landing = LandingListing.of(data_dir.landing)
    outcomes = []
    for station, day in station_days:
        chunks, misnamed = landing.chunks_for(station, day)
        rejects = [Reject(str(path), None, "file_name", path.name, reason) for path, reason in misnamed]
        day_rows = []
        for chunk in chunks:
            try:
                duration = probe_duration_s(chunk.path)
            except AudioDecodeError as exc:
                rejects.append(Reject(str(chunk.path), None, "audio", chunk.path.name, exc.reason))
                continue
            day_rows.append(
                {
                    "chunk_id": chunk.chunk_id,
                    "station_id": station,
                    "chunk_date": day,
                    "start_utc": chunk.start_utc,
                    "duration_s": duration,
                    "path": str(chunk.path),
                    "format": chunk.fmt,
                    "size_bytes": chunk.path.stat().st_size,
                }
            )
        truncated = _measure_truncated(day_rows, rejects)
        frame = STREAM_CHUNKS.from_rows(day_rows)
        db.replace(STREAM_CHUNKS, frame, "station_id = ? AND chunk_date = ?", [station, day])
        gaps = CAPTURE_GAPS.from_rows(
            [
                {
                    "station_id": station,
                    "gap_date": day,
                    "gap_start_utc": _naive(g.start_utc),
                    "gap_end_utc": _naive(g.end_utc),
                    "seconds": g.seconds,
                    "reason": g.reason,
                    "attempts": g.attempts,
                }
                for g in read_gaps(data_dir.landing, station)
                if g.start_utc.date() == day
            ]
            + [
                {
                    "station_id": station,
                    "gap_date": day,
                    "gap_start_utc": t.gap_start_utc,
                    "gap_end_utc": t.gap_end_utc,
                    "seconds": round(t.missing_s, 3),
                    "reason": t.reason,
                    "attempts": 0,
                }
                for t in truncated
            ]
        ).unique(["station_id", "gap_start_utc"], keep="last", maintain_order=True)
        truncated_chunks += len(truncated)
        db.replace(CAPTURE_GAPS, gaps, "station_id = ? AND gap_date = ?", [station, day])
        gap_seconds += float(gaps["seconds"].sum()) if gaps.height else 0.0
        record_rejects(db, "airplay/stream_chunks", f"{day}|{station}", rejects, context.log.warning)
        rows.extend(day_rows)
        total_rejects += len(rejects)
        outcomes.append(StationDayOutcome(station, day, len(day_rows), f"rejected files: {len(rejects)}"))
    record_outcomes(db, STREAM_CHUNKS_STAGE, outcomes, context.run.run_id)
    frame = STREAM_CHUNKS.from_rows(rows)
    audio_s = float(frame["duration_s"].sum()) if rows else 0.0
    yield MaterializeResult(
        asset_key=AIRPLAY_STREAM_CHUNKS,
        metadata=table_metadata(
            frame.drop("path"),
            stations=len({station for station, _ in station_days}),
            rejected_files=total_rejects,
            audio_hours=round(audio_s / 3600, 3),
            capture_gap_seconds=round(gap_seconds, 1),
            truncated_chunks=truncated_chunks,
        ),
    )
    yield MaterializeResult(
        asset_key=AIRPLAY_CAPTURE_GAPS,
        metadata={"capture_gap_seconds": round(gap_seconds, 1), "truncated_chunks": truncated_chunks},
    )
    yield MaterializeResult(
        asset_key=AIRPLAY_STATION_DAY_STATUS,
        metadata={
            "stations": len(outcomes),
            "stations_with_chunks": sum(1 for o in outcomes if o.row_count),
            "stage": STREAM_CHUNKS_STAGE,
        },
    )


@asset(
    key=AIRPLAY_DETECTIONS,
    deps=[stream_chunks, reference_fingerprints],
    partitions_def=day_shard_partitions,
    backfill_policy=range_backfill,
    group_name="airplay",
    kinds={"polars", "sql"},
)
def detections(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> MaterializeResult:
    """One row per chunk × catalog track heard in it, with the track offset, playback speed and confidence.

    Chunks are matched in batches against the reference fingerprint index, robust to speed changes of ±4 %;
    close runners-up (another version of the same recording) are kept in `airplay.detection_candidates`. A chunk
    whose audio fails to decode goes to `quarantine.rejected_rows` and the others are matched.
    """
    db = warehouse.client()
    data_dir.pull_index()  # shared storage (if configured): the index built elsewhere
    index = FingerprintIndex.open(data_dir.fingerprint_index)
    frames, failures, audio_s, outcomes = [], 0, 0.0, []
    station_days = run_station_days(context, db, DETECTIONS_STAGE)
    for station, day in station_days:
        chunks = db.read(STREAM_CHUNKS, "station_id = ? AND chunk_date = ?", [station, day]).sort("start_utc")
        data_dir.pull_landing(station, day)
        refs = [
            ChunkRef(c, s, t, data_dir.landing_file(p))
            for c, s, t, p in chunks.select("chunk_id", "station_id", "start_utc", "path").iter_rows()
        ]
        result = match_chunks(refs, index)
        frame = DETECTIONS.conform(result.detections.with_columns(chunk_date=pl.lit(day)))
        db.replace(DETECTIONS, frame, "station_id = ? AND chunk_date = ?", [station, day])
        candidates = DETECTION_CANDIDATES.conform(
            result.candidates.with_columns(station_id=pl.lit(station), chunk_date=pl.lit(day))
        )
        db.replace(DETECTION_CANDIDATES, candidates, "station_id = ? AND chunk_date = ?", [station, day])
        rejects = [Reject(x.path, None, "audio", x.chunk_id, x.reason) for x in result.failures]
        record_rejects(db, "airplay/detections", f"{day}|{station}", rejects, context.log.warning)
        frames.append(frame)
        failures += len(rejects)
        audio_s += float(chunks["duration_s"].sum()) if chunks.height else 0.0
        outcomes.append(StationDayOutcome(station, day, frame.height, f"chunks failed: {len(rejects)}"))
    record_outcomes(db, DETECTIONS_STAGE, outcomes, context.run.run_id)
    frame = DETECTIONS.concat(frames)
    return MaterializeResult(
        metadata=table_metadata(
            frame,
            stations=len({station for station, _ in station_days}),
            chunks_failed=failures,
            audio_hours_matched=round(audio_s / 3600, 3),
            tracks_heard=frame["track_id"].n_unique() if frame.height else 0,
        )
    )


@asset(
    key=AIRPLAY_PLAYLOGS,
    deps=[detections, CATALOG_TRACKS],
    partitions_def=day_shard_partitions,
    backfill_policy=range_backfill,
    group_name="airplay",
    kinds={"polars", "sql"},
)
def playlogs(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    """One row per play: station, track, start, end (UTC, to the second), confidence.

    Detections in consecutive chunks whose track position advances with wall time are one play; plays shorter
    than 30 s are dropped. A play belongs to the day it starts on, and is counted once: detections from the
    last and first hour of the neighbouring days are merged too, so a play across midnight keeps its true
    start and end and only its start day keeps it. Those neighbours are read from the warehouse when present,
    not declared as upstream partitions: a backfill materializes exactly the days asked for, in one run, so
    every midnight inside it is seen whole. Plays of a station never overlap: where two songs crossfade, the
    shared seconds go to the incoming song, so no second is billed twice.
    """
    db = warehouse.client()
    tracks = db.read(TRACKS).select("track_id", "duration_ms")
    durations = {t: ms / 1000 for t, ms in tracks.iter_rows() if ms}
    frames, outcomes = [], []
    station_days = run_station_days(context, db, PLAYLOGS_STAGE)
    for station, day in station_days:
        start, end = day_window(day)
        found = db.read(
            DETECTIONS,
            "station_id = ? AND chunk_start_utc >= ? AND chunk_start_utc < ?",
            [station, start - BOUNDARY_MARGIN, end + BOUNDARY_MARGIN],
        )
        plays = merge_detections(found.drop("chunk_date"), min_play_s=MIN_PLAY_SECONDS, track_durations_s=durations)
        plays = plays.filter((pl.col("start_utc") >= start) & (pl.col("start_utc") < end))
        frame = PLAYLOGS.conform(
            plays.with_columns(
                play_id=pl.struct("station_id", "track_id", "start_utc").map_elements(_play_id, return_dtype=pl.Utf8),
                play_date=pl.lit(day),
            )
        )
        db.replace(PLAYLOGS, frame, "station_id = ? AND play_date = ?", [station, day])
        frames.append(frame)
        outcomes.append(StationDayOutcome(station, day, frame.height))
    record_outcomes(db, PLAYLOGS_STAGE, outcomes, context.run.run_id)
    frame = PLAYLOGS.concat(frames)
    return MaterializeResult(
        metadata=table_metadata(
            frame,
            stations=len({station for station, _ in station_days}),
            airplay_seconds=int(frame["duration_s"].sum()) if frame.height else 0,
            mean_confidence=round(float(frame["confidence"].mean()), 3) if frame.height else 0.0,
        )
    )


def _measure_truncated(day_rows: list[dict], rejects: list[Reject]) -> list[Truncation]:
    """Decode the chunks whose size says they hold less than their header claims; store the seconds really
    there (the row is updated in place) and return the truncations, whose missing seconds become gaps."""

    def decoded_seconds(path: Path) -> float:
        return decode_audio(path).size / SAMPLE_RATE

    sizes = [
        ChunkSize(r["chunk_id"], Path(r["path"]), r["format"], r["start_utc"], r["duration_s"], r["size_bytes"])
        for r in day_rows
    ]
    try:
        truncations = find_truncations(sizes, decoded_seconds)
    except AudioDecodeError as exc:
        rejects.append(Reject(str(exc.path), None, "audio", Path(exc.path).name, exc.reason))
        return []
    by_key = {t.key: t for t in truncations}
    for row in day_rows:
        if row["chunk_id"] in by_key:
            row["duration_s"] = by_key[row["chunk_id"]].decoded_s
    return truncations


def _naive(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def _play_id(key: dict) -> str:
    start: datetime = key["start_utc"]
    raw = f"{key['station_id']}|{key['track_id']}|{start.isoformat()}"
    return hashlib.sha1(raw.encode()).hexdigest()[:16]
