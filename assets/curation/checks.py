"""Facts every day's curation must satisfy, read back from the warehouse (the rules each snapshot was built under
are stored beside it, so a policy edited later never changes what a past day is checked against)."""

from datetime import date, timedelta
from pathlib import Path

import polars as pl
from dagster import AssetCheckExecutionContext, AssetCheckResult, AssetCheckSeverity, asset_check

from assets.common.keys import (
    CURATION_PLAYLIST_PLAN,
    CURATION_PLAYLIST_SNAPSHOTS,
    CURATION_PLAYLIST_SYNC,
)
from assets.common.partitions import per_partition
from assets.curation.partitions import curation_days
from backbeat.catalog.tables import TRACKS
from backbeat.curation.tables import ACCOUNTS, ASSIGNMENTS, SNAPSHOT_PLAYLISTS, SNAPSHOTS, SYNC
from backbeat.curation.verification import cap_violations, gap_violations
from integrations.warehouse import WarehouseResource

MAX_LISTED = 10


def _result(violations: list[str], **metadata: object) -> AssetCheckResult:
    return AssetCheckResult(
        passed=not violations,
        metadata={"violations": len(violations), "details": "; ".join(violations[:MAX_LISTED]) or "none", **metadata},
    )


@asset_check(
    asset=CURATION_PLAYLIST_SNAPSHOTS,
    partitions_def=curation_days,
    description="No track is used while it rests (a used track rests for the repeat gap of the playlist "
    "that used it, for every playlist); no policy repeats a track within its gap; no track is "
    "in two playlists on one day.",
)
@per_partition
def snapshots_never_repeat_within_gap(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    db = warehouse.client()
    rules = db.read(SNAPSHOT_PLAYLISTS, "snapshot_date > ? AND snapshot_date <= ?", [day - timedelta(days=366), day])
    longest = int(rules["repeat_gap_days"].max() or 1)
    window = db.read(SNAPSHOTS, "snapshot_date > ? AND snapshot_date <= ?", [day - timedelta(days=longest), day])
    rows = (
        window.drop_nulls("track_id")
        .join(
            rules.select("snapshot_date", "playlist_id", "policy_id", "repeat_gap_days"),
            on=["snapshot_date", "playlist_id"],
            how="left",
        )
        .with_columns(
            pl.col("repeat_gap_days").fill_null(longest), pl.col("policy_id").fill_null(pl.col("playlist_id"))
        )
    )
    today = rows.filter(pl.col("snapshot_date") == day)
    earlier = rows.filter(pl.col("snapshot_date") < day)
    return _result(gap_violations(today, earlier, day), tracks=today.height, window_days=longest)


@asset_check(
    asset=CURATION_PLAYLIST_SNAPSHOTS,
    partitions_def=curation_days,
    description="Each playlist holds no track twice and respects its caps per artist and per album.",
)
@per_partition
def snapshots_respect_their_policies(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    db = warehouse.client()
    rules = db.read(SNAPSHOT_PLAYLISTS, "snapshot_date = ?", [day])
    today = db.read(SNAPSHOTS, "snapshot_date = ?", [day])
    return _result(cap_violations(today, rules, db.read(TRACKS)), playlists=rules.height)


@asset_check(
    asset=CURATION_PLAYLIST_SNAPSHOTS,
    partitions_def=curation_days,
    description="Every planned playlist has a snapshot of K tracks, or a recorded warning saying why not.",
)
@per_partition
def snapshots_are_full_or_warned(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    db = warehouse.client()
    rules = db.read(SNAPSHOT_PLAYLISTS, "snapshot_date = ?", [day])
    counts = db.read(SNAPSHOTS, "snapshot_date = ?", [day]).group_by("playlist_id").len()
    planned = db.read(ASSIGNMENTS, "plan_date = ? AND action <> ?", [day, "retire"])
    violations = [
        f"{p}: planned but no snapshot" for p in sorted(set(planned["playlist_id"]) - set(rules["playlist_id"]))
    ]
    joined = rules.join(counts, on="playlist_id", how="left").with_columns(pl.col("len").fill_null(0))
    violations += [
        f"{p}: {n} rows stored but {t} recorded"
        for p, n, t in joined.filter(pl.col("len") != pl.col("tracks"))
        .select("playlist_id", "len", "tracks")
        .iter_rows()
    ]
    silent = joined.filter((pl.col("tracks") < pl.col("target_size")) & pl.col("warning").is_null())
    violations += [
        f"{p}: {n} of {k} tracks without a warning"
        for p, n, k in silent.select("playlist_id", "tracks", "target_size").iter_rows()
    ]
    short = joined.filter(pl.col("tracks") < pl.col("target_size")).height
    return _result(violations, playlists=rules.height, short_with_warning=short)


@asset_check(
    asset=CURATION_PLAYLIST_PLAN,
    partitions_def=curation_days,
    description="No account hosts more playlists than its max_playlists; only active accounts host any.",
)
@per_partition
def plan_fits_account_capacity(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    db = warehouse.client()
    accounts = db.read(ACCOUNTS)
    if accounts.height and accounts["as_of"].max() != day:
        return AssetCheckResult(passed=True, metadata={"details": "the account registry was read for a later plan"})
    load = (
        db.read(ASSIGNMENTS, "plan_date = ? AND account_id IS NOT NULL", [day])
        .group_by("account_id")
        .len()
        .join(accounts.select("account_id", "max_playlists", "active"), on="account_id", how="left")
    )
    violations = [
        f"{a}: {n} playlists, capacity {c}, active {act}"
        for a, n, c, act in load.iter_rows()
        if c is None or n > c or not act
    ]
    return _result(violations, accounts=load.height)


@asset_check(
    asset=CURATION_PLAYLIST_SYNC,
    partitions_def=curation_days,
    description="The sync created no duplicate Spotify playlists: ids unique for the day and over history, "
    "and no playlist created where one was recorded (re-runs update).",
)
@per_partition
def sync_created_no_duplicates(context: AssetCheckExecutionContext, warehouse: WarehouseResource) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    db = warehouse.client()
    today = db.read(SYNC, "sync_date = ?", [day])
    violations = []
    ids = today.drop_nulls("spotify_playlist_id")
    twice = ids.group_by("spotify_playlist_id").len().filter(pl.col("len") > 1)
    violations += [f"Spotify playlist {i} serves {n} playlists" for i, n in twice.iter_rows()]
    created = today.filter((pl.col("action") == "created") & pl.col("previous_playlist_id").is_not_null())
    violations += [
        f"{a}/{p}: created although {prev} was recorded"
        for a, p, prev in created.select("account_id", "playlist_id", "previous_playlist_id").iter_rows()
    ]
    history = db.read(SYNC, "sync_date <= ? AND spotify_playlist_id IS NOT NULL", [day])
    owners = history.group_by("spotify_playlist_id").agg(
        pl.concat_str("account_id", pl.lit("/"), "playlist_id").unique().alias("owners")
    )
    shared = owners.filter(pl.col("owners").list.len() > 1)
    violations += [f"Spotify playlist {i} used for {sorted(o)}" for i, o in shared.iter_rows()]
    return _result(
        violations,
        synced=ids.height,
        created=today.filter(pl.col("action") == "created").height,
        updated=today.filter(pl.col("action") == "updated").height,
    )


@asset_check(
    asset=CURATION_PLAYLIST_SYNC,
    partitions_def=curation_days,
    description="Every playlist that did not reach Spotify (refused, failed, unassigned, ...) has its M3U "
    "and CSV export on disk.",
)
@per_partition
def unsynced_playlists_have_file_exports(
    context: AssetCheckExecutionContext, warehouse: WarehouseResource
) -> AssetCheckResult:
    day = date.fromisoformat(context.partition_key)
    today = warehouse.client().read(SYNC, "sync_date = ?", [day])
    unsynced = today.filter(pl.col("status") != "synced")
    violations = [
        f"{a}/{p}: {s} without an export"
        for a, p, s, m3u, table in unsynced.select(
            "account_id", "playlist_id", "status", "export_m3u", "export_csv"
        ).iter_rows()
        if not (m3u and table and Path(m3u).is_file() and Path(table).is_file())
    ]
    refused = unsynced.filter(pl.col("status") == "refused").height
    return AssetCheckResult(
        passed=not violations,
        severity=AssetCheckSeverity.ERROR,
        metadata={
            "violations": len(violations),
            "details": "; ".join(violations[:MAX_LISTED]) or "none",
            "exported": unsynced.height,
            "refused": refused,
        },
    )


CURATION_CHECKS = [
    snapshots_never_repeat_within_gap,
    snapshots_respect_their_policies,
    snapshots_are_full_or_warned,
    plan_fits_account_capacity,
    sync_created_no_duplicates,
    unsynced_playlists_have_file_exports,
]
