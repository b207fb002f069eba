"""Facts every day's playlist snapshots must satisfy."""

from datetime import date, timedelta

import polars as pl
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetKey, asset_check

from assets.catalog.tables import TRACKS
from assets.common.paths import DataDirResource
from assets.curation.policy import load_policies
from assets.curation.tables import SNAPSHOTS
from integrations.warehouse import WarehouseResource
from orchestration.partitions import daily_partitions


@asset_check(asset=AssetKey(["curation", "playlist_snapshots"]), partitions_def=daily_partitions,
             description="No track twice in a playlist or within its repeat gap; caps per artist and album hold.")
def snapshots_respect_their_policies(
    context: AssetCheckExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    db = warehouse.client()
    tracks = db.read(TRACKS).select("track_id", "artist_id", "album")
    violations: list[str] = []
    for policy in load_policies(data_dir.inbox / "curation" / "policies.json"):
        today = db.read(SNAPSHOTS, "snapshot_date = ? AND playlist_id = ?", [day, policy.playlist_id])
        earlier = db.read(SNAPSHOTS, "snapshot_date >= ? AND snapshot_date < ?",
                          [day - timedelta(days=policy.repeat_gap_days), day])
        chosen = today.join(tracks, on="track_id", how="left")
        if chosen["track_id"].n_unique() != chosen.height:
            violations.append(f"{policy.playlist_id}: a track appears twice")
        repeated = set(chosen["track_id"].to_list()) & set(earlier["track_id"].to_list())
        if repeated:
            gap = policy.repeat_gap_days
            violations.append(f"{policy.playlist_id}: {len(repeated)} track(s) repeated within {gap} days")
        for column, cap in (("artist_id", policy.max_per_artist), ("album", policy.max_per_album)):
            over = chosen.drop_nulls(column).group_by(column).len().filter(pl.col("len") > cap)
            if over.height:
                violations.append(f"{policy.playlist_id}: {over.height} {column} value(s) over the cap of {cap}")
    return AssetCheckResult(passed=not violations, metadata={"violations": "; ".join(violations) or "none"})
