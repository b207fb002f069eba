"""Curation assets: each day's plan, the snapshot of every logical playlist under its policy, and their sync."""

from collections import Counter
from collections.abc import Iterator
from datetime import date

import polars as pl
from dagster import (
    AssetExecutionContext,
    AssetSpec,
    Failure,
    MaterializeResult,
    MetadataValue,
    asset,
    multi_asset,
)

from assets.common.keys import (
    CATALOG_AUDIO_FEATURES,
    CATALOG_SPOTIFY_RECORDINGS,
    CATALOG_TRACKS,
    CURATION_PLAYLIST_PLAN,
    CURATION_PLAYLIST_PLANS,
    CURATION_PLAYLIST_SNAPSHOTS,
    CURATION_PLAYLIST_SYNC,
    CURATION_SNAPSHOT_PLAYLISTS,
)
from assets.common.metadata import preview, table_metadata
from assets.common.partitions import range_backfill
from assets.common.paths import DataDirResource
from assets.common.table_specs import table_spec
from assets.curation.partitions import curation_days
from backbeat.catalog.tables import ARTISTS, SOURCE_RECORDINGS, TRACKS
from backbeat.curation import store
from backbeat.curation.planner import UNASSIGNED, Account
from backbeat.curation.policy import PolicyError
from backbeat.curation.selection import Usage, build_day
from backbeat.curation.sync import (
    SYNCED,
    SyncJob,
    clear_exports,
    export_unsynced,
    outcome_rows,
    playlist_description,
    playlist_name,
    resolve_tracks,
    skip_rows,
    spotify_uris_by_isrc,
    sync_all,
    utcnow,
)
from backbeat.curation.tables import ASSIGNMENTS, PLANS, SNAPSHOT_PLAYLISTS, SNAPSHOTS, SYNC, SYNC_SKIPS
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.spotify.playlists import SpotifyPlaylistClient
from integrations.warehouse import Warehouse, WarehouseResource

PLAN_DEPS = [CATALOG_TRACKS, CATALOG_AUDIO_FEATURES]
SNAPSHOTS_DEPS = [CURATION_PLAYLIST_PLAN, CATALOG_TRACKS, CATALOG_AUDIO_FEATURES]


def _days(context: AssetExecutionContext) -> list[date]:
    return sorted(date.fromisoformat(k) for k in context.partition_keys)


@multi_asset(
    name="curation__playlist_plan",
    partitions_def=curation_days,
    backfill_policy=range_backfill,
    specs=[
        AssetSpec(CURATION_PLAYLIST_PLAN, deps=PLAN_DEPS, group_name="curation", kinds={"sql"}),
        table_spec(PLANS, "curation", "curation/playlist_plan", {"sql"}, deps=PLAN_DEPS),
    ],
)
def playlist_plan(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """One row per day in `curation.playlist_plans` (T, P* = Σ ceil(T_policy / (K · R)), capacity, floor, planned)
    and one row per playlist in `curation.playlist_assignments` (its account and the action: create, keep, move,
    unassigned, retire); `curation.accounts` mirrors the registry read.

    Source: the usable catalog (`catalog.tracks` ⟕ `catalog.audio_features`), `inbox/curation/policies.{json,yaml}`,
    `inbox/curation/accounts.json` and the previous day's plan (playlists move between accounts minimally).
    """
    db = warehouse.client()
    inputs = store.plan_inputs(data_dir.inbox, db)
    for note in inputs.notes:
        context.log.warning(note)
    plans = []
    for day in _days(context):
        plan = store.compute_plan(db, inputs, day)
        store.write_plan(db, plan, inputs.accounts)
        plans.append(plan)
        if plan.stats["assigned"] < plan.stats["planned"]:
            context.log.warning(
                f"{day}: {plan.stats['planned'] - plan.stats['assigned']} playlist(s) have no "
                "account with room: they are exported as files only"
            )
    last = plans[-1]
    actions = pl.DataFrame(
        [a.__dict__ for a in last.actions if a.action != "keep"] or None,
        schema={
            "playlist_id": pl.Utf8,
            "action": pl.Utf8,
            "from_account": pl.Utf8,
            "to_account": pl.Utf8,
            "reason": pl.Utf8,
        },
    )
    stats = last.stats
    yield MaterializeResult(
        asset_key=CURATION_PLAYLIST_PLAN,
        metadata={
            "days": len(plans),
            "usable_tracks": stats["usable_tracks"],
            "p_star": stats["p_star"],
            "capacity": stats["capacity"],
            "floor": stats["floor"],
            "planned": stats["planned"],
            "assigned": stats["assigned"],
            "limited_by": stats["limited_by"],
            "actions": MetadataValue.json(stats["actions"]),
            "policies": MetadataValue.md(_policy_table(stats["policies"])),
            "changes": preview(actions, rows=20),
            "notes": "; ".join(inputs.notes) or "none",
        },
    )
    yield MaterializeResult(
        asset_key=CURATION_PLAYLIST_PLANS,
        metadata={
            "dagster/row_count": len(plans),
            "days": ", ".join(p.day.isoformat() for p in plans),
        },
    )


def _policy_table(demands: list[dict]) -> str:
    lines = ["| policy | T | T shared | K | R | P* | floor | planned |", "|---|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [
        f"| {d['policy_id']} | {d['usable_tracks']} | {d['effective_tracks']} | {d['size']} | {d['gap_days']} "
        f"| {d['p_star']} | {d['floor']} | {d['planned']} |"
        for d in demands
    ]
    return "\n".join(lines)


@multi_asset(
    name="curation__playlist_snapshots",
    partitions_def=curation_days,
    backfill_policy=range_backfill,
    specs=[
        AssetSpec(CURATION_PLAYLIST_SNAPSHOTS, deps=SNAPSHOTS_DEPS, group_name="curation", kinds={"sql", "polars"}),
        table_spec(
            SNAPSHOT_PLAYLISTS, "curation", "curation/playlist_snapshots", {"sql", "polars"}, deps=SNAPSHOTS_DEPS
        ),
    ],
)
def playlist_snapshots(
    context: AssetExecutionContext, data_dir: DataDirResource, warehouse: WarehouseResource
) -> Iterator[MaterializeResult]:
    """One row per track position of each planned playlist's snapshot for a day in `curation.playlist_snapshots`
    (batch tag YYYY-MM-DD), and one row per playlist and day in `curation.snapshot_playlists` (rules, size,
    warning).

    Source: the day's plan, the usable catalog and the snapshots of the preceding days. A track used by a playlist
    rests for that playlist's repeat gap, for every playlist (so none repeats a track within its gap); caps per
    artist and album hold; a re-run of a day gives the same snapshot; a policy the catalog cannot satisfy yields
    its best partial snapshot and a recorded warning.
    """
    db = warehouse.client()
    inputs = store.plan_inputs(data_dir.inbox, db)
    days = _days(context)
    max_gap = max(p.repeat_gap_days for p in inputs.policies)
    usage = Usage.from_history(inputs.catalog, store.recent_usage(db, days[0], max_gap), days[0])
    frames, summaries, warnings, notes = [], [], [], list(inputs.notes)
    for day in days:
        planned = store.stored_plan(db, day)
        if planned is None:
            notes.append(f"{day}: no stored plan (materialize curation/playlist_plan first); planned in memory")
            planned = store.planned_from(store.compute_plan(db, inputs, day))
        slots, missing = store.slots_for(planned, inputs.policies)
        notes += missing
        snapshots = build_day(inputs.catalog, slots, usage, day)
        index = {p.playlist_id: p for p in planned}
        tag = day.isoformat()
        rows = [
            {"snapshot_date": day, "playlist_id": s.playlist_id, "position": i, "track_id": t, "batch_tag": tag}
            for s in snapshots
            for i, t in enumerate(s.track_ids, start=1)
        ]
        summary = [
            {
                "snapshot_date": day,
                "playlist_id": s.playlist_id,
                "policy_id": s.policy.policy_id,
                "theme": s.policy.theme,
                "global_index": index[s.playlist_id].global_index,
                "target_size": s.policy.size,
                "tracks": len(s.track_ids),
                "repeat_gap_days": s.policy.repeat_gap_days,
                "max_per_artist": s.policy.max_per_artist,
                "max_per_album": s.policy.max_per_album,
                "ordering": s.policy.order,
                "pool_tracks": s.pool,
                "available_tracks": s.available,
                "adjacent_same_artist": s.adjacent_same_artist,
                "warning": s.warning,
                "batch_tag": tag,
            }
            for s in snapshots
        ]
        frame, summary_frame = SNAPSHOTS.from_rows(rows), SNAPSHOT_PLAYLISTS.from_rows(summary)
        db.replace(SNAPSHOTS, frame, "snapshot_date = ?", [day])
        db.replace(SNAPSHOT_PLAYLISTS, summary_frame, "snapshot_date = ?", [day])
        frames.append(frame)
        summaries.append(summary_frame)
        for s in snapshots:
            if s.warning:
                warnings.append(s.warning)
                context.log.warning(s.warning)
    for note in notes:
        context.log.warning(note)
    frame, summary = SNAPSHOTS.concat(frames), SNAPSHOT_PLAYLISTS.concat(summaries)
    yield MaterializeResult(
        asset_key=CURATION_PLAYLIST_SNAPSHOTS,
        metadata={
            **table_metadata(frame),
            "days": len(days),
            "playlists": summary.height,
            "short_playlists": len(warnings),
            "warnings": MetadataValue.md("\n".join(f"- {w}" for w in warnings[:20]) or "_none_"),
            "playlists_preview": preview(
                summary.select("playlist_id", "theme", "tracks", "target_size", "ordering", "available_tracks")
            ),
            "notes": "; ".join(notes) or "none",
        },
    )
    yield MaterializeResult(
        asset_key=CURATION_SNAPSHOT_PLAYLISTS,
        metadata=table_metadata(
            summary.select("snapshot_date", "playlist_id", "theme", "tracks", "target_size", "warning"),
            short_playlists=len(warnings),
        ),
    )


@asset(
    key=CURATION_PLAYLIST_SYNC,
    deps=[CURATION_PLAYLIST_SNAPSHOTS, CATALOG_SPOTIFY_RECORDINGS],
    partitions_def=curation_days,
    backfill_policy=range_backfill,
    group_name="curation",
    kinds={"spotify", "sql"},
)
def playlist_sync(
    context: AssetExecutionContext,
    data_dir: DataDirResource,
    warehouse: WarehouseResource,
    spotify_accounts: SpotifyAccountsResource,
) -> MaterializeResult:
    """One row per account × playlist × day in `curation.playlist_sync`: the Spotify playlist created or replaced
    (`Vibe • {ThemeTag} • #{GlobalIndex:000} • {YYYY-MM-DD}`, public description) with its id and URL, or why
    not — refused (403/quota), not connected, failed, unassigned — and the file export written instead
    (`data/exports/curation/{day}/*.m3u|csv`); one row per track left out in `curation.sync_skipped_tracks`.

    Source: the day's snapshots and plan, `catalog.tracks`, Spotify ids from `catalog.source_recordings` by ISRC,
    `inbox/curation/accounts.json` and the encrypted account tokens. A re-run updates the same playlists.
    """
    db = warehouse.client()
    accounts, note = store.read_accounts(data_dir.inbox)
    by_account = {a.account_id: a for a in accounts}
    try:
        policies = {p.policy_id: p for p in store.read_policies(data_dir.inbox)}
    except PolicyError as exc:  # the snapshots are already built: publish them, with plain descriptions
        context.log.warning(f"policies unreadable, playlist descriptions fall back to the theme: {exc}")
        policies = {}
    tracks, artists = db.read(TRACKS), db.read(ARTISTS)
    uris = spotify_uris_by_isrc(db.read(SOURCE_RECORDINGS, "source = ?", ["spotify"]))
    make_client = None
    if spotify_accounts.configured:
        token_store = spotify_accounts.token_store()

        def make_client(account: Account) -> SpotifyPlaylistClient:
            return spotify_accounts.client(account.account_id, account.spotify_user_id, store=token_store)
    else:
        context.log.warning(
            "Spotify is not configured (missing: "
            + ", ".join(spotify_accounts.missing())
            + "): every playlist is exported as files"
        )
    all_rows, all_skips, alerts, alerted = [], [], [], set()
    for day in _days(context):
        summary = db.read(SNAPSHOT_PLAYLISTS, "snapshot_date = ?", [day])
        if not summary.height:
            raise Failure(f"no snapshots for {day}: materialize curation/playlist_snapshots for {day} first")
        snapshot = db.read(SNAPSHOTS, "snapshot_date = ?", [day])
        accounts_of = dict(db.read(ASSIGNMENTS, "plan_date = ?", [day]).select("playlist_id", "account_id").iter_rows())
        if not accounts_of:
            context.log.warning(f"{day}: no stored plan, so no playlist has an account: all are exported as files")
        previous = _previous_spotify_ids(db, day)
        jobs = []
        for row in summary.sort("global_index").iter_rows(named=True):
            account_id = accounts_of.get(row["playlist_id"]) or UNASSIGNED
            policy = policies.get(row["policy_id"])
            chosen = resolve_tracks(snapshot.filter(pl.col("playlist_id") == row["playlist_id"]), tracks, artists, uris)
            jobs.append(
                SyncJob(
                    day,
                    account_id,
                    row["playlist_id"],
                    int(row["global_index"]),
                    row["theme"],
                    playlist_name(row["theme"], int(row["global_index"]), day),
                    playlist_description(row["theme"], policy.description if policy else "", day, len(chosen)),
                    chosen,
                    previous.get((account_id, row["playlist_id"])),
                )
            )
        outcomes = sync_all(jobs, by_account, make_client, max_workers=spotify_accounts.max_workers)
        folder = data_dir.exports / "curation" / day.isoformat()
        clear_exports(folder)
        outcomes = export_unsynced(folder, outcomes)
        rows, skips = outcome_rows(outcomes, utcnow()), skip_rows(jobs)
        db.replace(SYNC, SYNC.from_rows(rows), "sync_date = ?", [day])
        db.replace(SYNC_SKIPS, SYNC_SKIPS.from_rows(skips), "sync_date = ?", [day])
        all_rows += rows
        all_skips += skips
        for outcome in outcomes:
            if outcome.status != SYNCED:
                alerts.append(
                    f"{day} {outcome.job.account_id}/{outcome.job.playlist_id}: {outcome.status} — "
                    f"{outcome.error}; exported to {outcome.export_m3u}"
                )
                if (day, outcome.job.account_id, outcome.status) not in alerted:  # one alert per account and cause
                    alerted.add((day, outcome.job.account_id, outcome.status))
                    context.log.error(
                        f"curation sync {day}: account {outcome.job.account_id} {outcome.status}: "
                        f"{outcome.error} — its playlists are exported under {folder}"
                    )
            if outcome.duplicates:
                context.log.warning(
                    f"{outcome.job.account_id}: other playlists also named "
                    f"{outcome.job.name!r}: {outcome.duplicates} (left untouched)"
                )
    frame = SYNC.from_rows(all_rows)
    statuses = Counter(frame["status"].to_list())
    return MaterializeResult(
        metadata={
            **table_metadata(
                frame.select(
                    "sync_date",
                    "account_id",
                    "playlist_name",
                    "status",
                    "action",
                    "tracks_sent",
                    "tracks_skipped",
                    "error",
                )
            ),
            "statuses": MetadataValue.json(dict(sorted(statuses.items()))),
            "synced": statuses.get(SYNCED, 0),
            "exported": frame.height - statuses.get(SYNCED, 0),
            "tracks_without_spotify_id": len(all_skips),
            "exports": MetadataValue.path(str(data_dir.exports / "curation")),
            "alerts": MetadataValue.md("\n".join(f"- {a}" for a in alerts[:30]) or "_none_"),
            "notes": note or "none",
        }
    )


def _previous_spotify_ids(db: Warehouse, day: date) -> dict[tuple[str, str], str]:
    """(account, playlist) → the Spotify playlist id recorded last, up to and including `day` (a re-run of a day
    finds the playlist its first run made)."""
    rows = db.read(SYNC, "sync_date <= ? AND spotify_playlist_id IS NOT NULL", [day])
    latest = rows.sort("sync_date").unique(["account_id", "playlist_id"], keep="last")
    return {(a, p): s for a, p, s in latest.select("account_id", "playlist_id", "spotify_playlist_id").iter_rows()}
