"""Facts that must hold for every station-day of airplay data."""

from datetime import timedelta

import polars as pl
from dagster import AssetCheckExecutionContext, AssetCheckResult, MetadataValue, asset_check

from assets.common.keys import (
    AIRPLAY_DETECTIONS,
    AIRPLAY_PLAYLOGS,
    AIRPLAY_REFERENCE_FINGERPRINTS,
    AIRPLAY_STREAM_CHUNKS,
)
from assets.common.partitions import checked_station_day, day_shard_partitions, day_window, per_station_day
from assets.common.paths import DataDirResource
from audio.index import FingerprintIndex
from audio.plays import overlapping_plays
from backbeat.airplay.station_days import DETECTIONS_STAGE, PLAYLOGS_STAGE, STREAM_CHUNKS_STAGE
from backbeat.airplay.tables import PLAYLOGS
from integrations.warehouse import WarehouseResource

PLAY_COLUMNS = ("play_id", "track_id", "play_date", "start_utc", "end_utc", "duration_s")


@asset_check(
    asset=AIRPLAY_STREAM_CHUNKS,
    partitions_def=day_shard_partitions,
    description="Chunks of the station-day are unique and none overlaps the next.",
)
@per_station_day(STREAM_CHUNKS_STAGE)
def stream_chunks_are_unique_and_ordered(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    station, day = checked_station_day(context)
    db = warehouse.client()
    row = db.query(
        "SELECT count(*) AS n, count(DISTINCT start_utc) AS starts FROM airplay.stream_chunks "
        "WHERE station_id = ? AND chunk_date = ?",
        [station, day],
    ).row(0, named=True)
    return AssetCheckResult(passed=row["n"] == row["starts"], metadata=row)


@asset_check(
    asset=AIRPLAY_PLAYLOGS,
    partitions_def=day_shard_partitions,
    blocking=True,
    description="Plays start within their partition's day, last ≥ 30 s and never overlap at a station "
    "(nor the previous day's play that runs past midnight). Blocking: an overlap would bill the same "
    "seconds twice, so a failing station-day never reaches the royalty ledger.",
)
@per_station_day(PLAYLOGS_STAGE)
def playlogs_within_partition(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    """The station-day's plays are inside its day, at least 30 s long, and disjoint in airtime."""
    station, day = checked_station_day(context)
    start, end = day_window(day)
    db = warehouse.client()
    # The day's plays, and any play of the day before that is still on air at midnight.
    plays = db.query(
        f"SELECT {', '.join(PLAY_COLUMNS)} FROM airplay.playlogs "
        "WHERE station_id = ? AND (play_date = ? OR (play_date = ? AND end_utc > ?))",
        [station, day, day - timedelta(days=1), start],
        {k: PLAYLOGS.polars_schema[k] for k in PLAY_COLUMNS},
    ).with_columns(station_id=pl.lit(station))
    own = plays.filter(pl.col("play_date") == day)
    outside = own.filter((pl.col("start_utc") < start) | (pl.col("start_utc") >= end)).height
    short = own.filter(pl.col("duration_s") < 30).height
    overlaps = overlapping_plays(plays)
    shown = [
        f"{r['play_id_before']} ({r['track_id_before']} {r['start_utc_before']:%H:%M:%S}–"
        f"{r['end_utc_before']:%H:%M:%S}) and {r['play_id']} ({r['track_id']} {r['start_utc']:%H:%M:%S}–"
        f"{r['end_utc']:%H:%M:%S}): {r['overlap_s']:g} s"
        for r in overlaps.head(10).iter_rows(named=True)
    ]
    return AssetCheckResult(
        passed=outside == 0 and short == 0 and overlaps.is_empty(),
        metadata={
            "plays": own.height,
            "outside_day": outside,
            "shorter_than_30s": short,
            "overlapping": overlaps.height,
            "overlapping_seconds": float(overlaps["overlap_s"].sum()),
            "overlaps": MetadataValue.md("\n".join(f"- {line}" for line in shown) or "none"),
        },
    )


@asset_check(
    asset=AIRPLAY_PLAYLOGS,
    partitions_def=day_shard_partitions,
    description="Every play names a track that is in the catalog.",
)
@per_station_day(PLAYLOGS_STAGE)
def playlogs_have_known_tracks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    station, day = checked_station_day(context)
    unknown = warehouse.client().scalar(
        "SELECT count(*) FROM airplay.playlogs p LEFT JOIN catalog.tracks t ON t.track_id = p.track_id "
        "WHERE p.station_id = ? AND p.play_date = ? AND t.track_id IS NULL",
        [station, day],
    )
    return AssetCheckResult(passed=unknown == 0, metadata={"plays_with_unknown_track": int(unknown)})


@asset_check(
    asset=AIRPLAY_DETECTIONS,
    partitions_def=day_shard_partitions,
    description="One detection per chunk and track, for tracks in the catalog, with confidence in [0, 1].",
)
@per_station_day(DETECTIONS_STAGE)
def detections_are_unique_and_known(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    station, day = checked_station_day(context)
    row = (
        warehouse.client()
        .query(
            "SELECT count(*) AS n, count(DISTINCT d.chunk_id || '|' || d.track_id) AS distinct_pairs, "
            "count(*) - count(t.track_id) AS unknown_tracks, "
            "sum(CASE WHEN d.confidence < 0 OR d.confidence > 1 THEN 1 ELSE 0 END) AS bad_confidence "
            "FROM airplay.detections d LEFT JOIN catalog.tracks t ON t.track_id = d.track_id "
            "WHERE d.station_id = ? AND d.chunk_date = ?",
            [station, day],
        )
        .row(0, named=True)
    )
    row = {k: int(v or 0) for k, v in row.items()}
    return AssetCheckResult(
        passed=row["n"] == row["distinct_pairs"] and row["unknown_tracks"] == 0 and row["bad_confidence"] == 0,
        metadata=row,
    )


@asset_check(
    asset=AIRPLAY_REFERENCE_FINGERPRINTS,
    description="Every catalog track with reference audio is in the index, or quarantined with a reason.",
)
def fingerprint_index_covers_catalog_audio(data_dir: DataDirResource, warehouse: WarehouseResource) -> AssetCheckResult:
    db = warehouse.client()
    wanted = set(db.query("SELECT track_id FROM catalog.tracks WHERE audio_path IS NOT NULL")["track_id"].to_list())
    quarantined = set(
        db.query("SELECT value FROM quarantine.rejected_rows WHERE asset = 'airplay/reference_fingerprints'")[
            "value"
        ].to_list()
    )
    indexed = set(FingerprintIndex.open(data_dir.fingerprint_index).track_ids)
    missing = sorted(wanted - indexed - quarantined)
    return AssetCheckResult(
        passed=not missing,
        metadata={
            "tracks_with_audio": len(wanted),
            "indexed": len(indexed & wanted),
            "quarantined": len(quarantined),
            "missing": ", ".join(missing[:20]),
        },
    )
