"""Facts that must hold for every station-day of airplay data."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetKey, asset_check

from assets.common.paths import DataDirResource
from audio.index import FingerprintIndex
from integrations.warehouse import WarehouseResource
from orchestration.partitions import day_window, station_day_partitions, station_days


@asset_check(asset=AssetKey(["airplay", "stream_chunks"]), partitions_def=station_day_partitions,
             description="Chunks of the station-day are unique and none overlaps the next.")
def stream_chunks_are_unique_and_ordered(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    (station, day), = station_days([context.partition_key])
    db = warehouse.client()
    row = db.query(
        "SELECT count(*) AS n, count(DISTINCT start_utc) AS starts FROM airplay.stream_chunks "
        "WHERE station_id = ? AND chunk_date = ?", [station, day]
    ).row(0, named=True)
    return AssetCheckResult(passed=row["n"] == row["starts"], metadata=row)


@asset_check(asset=AssetKey(["airplay", "playlogs"]), partitions_def=station_day_partitions,
             description="Plays start within their partition's day, last ≥ 30 s and never overlap at a station.")
def playlogs_within_partition(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    (station, day), = station_days([context.partition_key])
    start, end = day_window(day)
    db = warehouse.client()
    plays = db.query(
        "SELECT start_utc, end_utc, duration_s FROM airplay.playlogs WHERE station_id = ? AND play_date = ? "
        "ORDER BY start_utc", [station, day]
    )
    outside = plays.filter((plays["start_utc"] < start) | (plays["start_utc"] >= end)).height
    short = plays.filter(plays["duration_s"] < 30).height
    ends, starts = plays["end_utc"].to_list(), plays["start_utc"].to_list()
    overlaps = sum(1 for prev_end, next_start in zip(ends, starts[1:], strict=False) if next_start < prev_end)
    return AssetCheckResult(
        passed=outside == 0 and short == 0 and overlaps == 0,
        metadata={"plays": plays.height, "outside_day": outside, "shorter_than_30s": short, "overlapping": overlaps},
    )


@asset_check(asset=AssetKey(["airplay", "playlogs"]), partitions_def=station_day_partitions,
             description="Every play names a track that is in the catalog.")
def playlogs_have_known_tracks(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    (station, day), = station_days([context.partition_key])
    unknown = warehouse.client().scalar(
        "SELECT count(*) FROM airplay.playlogs p LEFT JOIN catalog.tracks t ON t.track_id = p.track_id "
        "WHERE p.station_id = ? AND p.play_date = ? AND t.track_id IS NULL", [station, day]
    )
    return AssetCheckResult(passed=unknown == 0, metadata={"plays_with_unknown_track": int(unknown)})


@asset_check(asset=AssetKey(["airplay", "detections"]), partitions_def=station_day_partitions,
             description="One detection per chunk and track, for tracks in the catalog, with confidence in [0, 1].")
def detections_are_unique_and_known(context: AssetCheckExecutionContext, warehouse: WarehouseResource
                                    ) -> AssetCheckResult:
    (station, day), = station_days([context.partition_key])
    row = warehouse.client().query(
        "SELECT count(*) AS n, count(DISTINCT d.chunk_id || '|' || d.track_id) AS distinct_pairs, "
        "count(*) - count(t.track_id) AS unknown_tracks, "
        "sum(CASE WHEN d.confidence < 0 OR d.confidence > 1 THEN 1 ELSE 0 END) AS bad_confidence "
        "FROM airplay.detections d LEFT JOIN catalog.tracks t ON t.track_id = d.track_id "
        "WHERE d.station_id = ? AND d.chunk_date = ?", [station, day]
    ).row(0, named=True)
    row = {k: int(v or 0) for k, v in row.items()}
    return AssetCheckResult(
        passed=row["n"] == row["distinct_pairs"] and row["unknown_tracks"] == 0 and row["bad_confidence"] == 0,
        metadata=row,
    )


@asset_check(asset=AssetKey(["airplay", "reference_fingerprints"]),
             description="Every catalog track with reference audio is in the index, or quarantined with a reason.")
def fingerprint_index_covers_catalog_audio(data_dir: DataDirResource, warehouse: WarehouseResource
                                           ) -> AssetCheckResult:
    db = warehouse.client()
    wanted = set(db.query("SELECT track_id FROM catalog.tracks WHERE audio_path IS NOT NULL")["track_id"].to_list())
    quarantined = set(db.query("SELECT value FROM quarantine.rejected_rows "
                               "WHERE asset = 'airplay/reference_fingerprints'")["value"].to_list())
    indexed = set(FingerprintIndex.open(data_dir.fingerprint_index).track_ids)
    missing = sorted(wanted - indexed - quarantined)
    return AssetCheckResult(
        passed=not missing,
        metadata={"tracks_with_audio": len(wanted), "indexed": len(indexed & wanted),
                  "quarantined": len(quarantined), "missing": ", ".join(missing[:20])},
    )
