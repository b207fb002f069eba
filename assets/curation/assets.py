"""Curation assets: a daily snapshot of every logical playlist, under its policy."""

from datetime import date, timedelta

import polars as pl
from dagster import AssetExecutionContext, MaterializeResult, asset

from assets.catalog.tables import TRACKS
from assets.common.metadata import table_metadata
from assets.common.paths import DataDirResource
from assets.curation.policy import load_policies
from assets.curation.selection import select_tracks
from assets.curation.tables import SNAPSHOTS
from integrations.warehouse import WarehouseResource
from orchestration.partitions import daily_partitions


@asset(key=["curation", "playlist_snapshots"], deps=[["catalog", "tracks"]], partitions_def=daily_partitions,
       group_name="curation", kinds={"sql"})
def playlist_snapshots(context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
                       ) -> MaterializeResult:
    """One row per track position in each playlist's snapshot for a day, under `inbox/curation/policies.json`.

    No track repeats within a playlist's repeat gap across all playlists; caps per artist and album hold; a
    policy the catalog cannot satisfy yields its best partial snapshot and a warning, never a silent short list.
    """
    policies = load_policies(data_dir.inbox / "curation" / "policies.json")
    db = warehouse.client()
    tracks = db.read(TRACKS)
    rows, short = [], {}
    for day in sorted(date.fromisoformat(k) for k in context.partition_keys):
        for policy in policies:
            since = day - timedelta(days=policy.repeat_gap_days)
            used = db.read(SNAPSHOTS, "snapshot_date >= ? AND snapshot_date < ?", [since, day])
            chosen = select_tracks(policy, tracks, set(used["track_id"].to_list()), day)
            if len(chosen) < policy.size:
                short[f"{day} {policy.playlist_id}"] = f"{len(chosen)}/{policy.size}"
                context.log.warning(f"{policy.playlist_id} on {day}: only {len(chosen)} of {policy.size} tracks "
                                    "satisfy the policy")
            day_rows = [{"snapshot_date": day, "playlist_id": policy.playlist_id, "position": i + 1,
                         "track_id": t, "batch_tag": day.isoformat()} for i, t in enumerate(chosen)]
            frame = pl.DataFrame(day_rows, schema=SNAPSHOTS.polars_schema)
            db.replace(SNAPSHOTS, frame, "snapshot_date = ? AND playlist_id = ?", [day, policy.playlist_id])
            rows.extend(day_rows)
    frame = pl.DataFrame(rows, schema=SNAPSHOTS.polars_schema)
    return MaterializeResult(metadata=table_metadata(frame, playlists=len(policies), short_playlists=str(short or "")))
