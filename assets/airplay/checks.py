"""Facts that must hold for every station-day of airplay data."""

from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetKey, asset_check

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
