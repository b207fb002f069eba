"""Reading curation's inputs from files and the warehouse, and writing its tables: the plumbing between the
assets and the plain functions in `policy`, `selection`, `planner` and `sync`."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from backbeat.catalog.tables import AUDIO_FEATURES, TRACKS
from backbeat.curation.planner import Account, Plan, load_accounts, make_plan
from backbeat.curation.policy import PlaylistPolicy, load_policies
from backbeat.curation.selection import CatalogIndex, Slot, usable_catalog
from backbeat.curation.tables import ACCOUNTS, ASSIGNMENTS, PLANS, SNAPSHOT_PLAYLISTS, SNAPSHOTS
from integrations.warehouse import Warehouse

ACCOUNTS_FILE = "accounts.json"


def curation_inbox(inbox: Path) -> Path:
    return inbox / "curation"


def read_policies(inbox: Path) -> list[PlaylistPolicy]:
    """The policies file of `inbox/curation/` (JSON or YAML)."""
    return load_policies(curation_inbox(inbox))


def read_accounts(inbox: Path) -> tuple[list[Account], str | None]:
    """Accounts from `inbox/curation/accounts.json`; no file means no accounts (with a note saying so)."""
    path = curation_inbox(inbox) / ACCOUNTS_FILE
    if not path.exists():
        return [], f"{path} does not exist: no Spotify account hosts playlists, every snapshot is exported as files"
    return load_accounts(path), None


def read_usable_catalog(db: Warehouse) -> pl.DataFrame:
    """`catalog.tracks` left-joined with `catalog.audio_features` (tempo, energy)."""
    return usable_catalog(db.read(TRACKS), db.read(AUDIO_FEATURES))


@dataclass
class PlanInputs:
    """What a plan is computed from, read once per run."""

    policies: list[PlaylistPolicy]
    catalog: CatalogIndex
    accounts: list[Account]
    notes: list[str] = field(default_factory=list)


def plan_inputs(inbox: Path, db: Warehouse) -> PlanInputs:
    policies = read_policies(inbox)
    accounts, note = read_accounts(inbox)
    return PlanInputs(policies, CatalogIndex(read_usable_catalog(db)), accounts, [note] if note else [])


def previous_plan(db: Warehouse, day: date) -> tuple[dict[str, str | None], dict[str, int]]:
    """The latest plan before `day` (playlist → account, retired ones left out) and every global index given
    before `day` (so a re-run of a day sees exactly what its first run saw)."""
    rows = db.read(ASSIGNMENTS, "plan_date < ?", [day])
    if not rows.height:
        return {}, {}
    known = dict(
        rows.sort("plan_date").select("playlist_id", "global_index").unique("playlist_id", keep="last").iter_rows()
    )
    latest = rows.filter((pl.col("plan_date") == pl.col("plan_date").max()) & (pl.col("action") != "retire"))
    return dict(latest.select("playlist_id", "account_id").iter_rows()), {k: int(v) for k, v in known.items()}


def compute_plan(db: Warehouse, inputs: PlanInputs, day: date) -> Plan:
    previous, known = previous_plan(db, day)
    pools = {p.policy_id: inputs.catalog.pool(p) for p in inputs.policies}
    return make_plan(day, inputs.policies, pools, len(inputs.catalog), inputs.accounts, previous, known)


def write_plan(db: Warehouse, plan: Plan, accounts: list[Account]) -> None:
    """The plan's row, its assignments (retired playlists included) and the account registry as read."""
    day = plan.day
    moves = sum(1 for a in plan.actions if a.action == "move")
    stats = plan.stats
    figures = (
        "usable_tracks",
        "matching_tracks",
        "p_star",
        "capacity",
        "floor",
        "planned",
        "assigned",
        "active_accounts",
        "limited_by",
    )
    row = {
        "plan_date": day,
        **{name: stats[name] for name in figures},
        "moves": moves,
        "stats_json": json.dumps(stats, sort_keys=True, default=str),
        "batch_tag": day.isoformat(),
    }
    db.replace(PLANS, PLANS.from_rows([row]), "plan_date = ?", [day])
    by_id = {p.playlist_id: p for p in plan.playlists}
    rows = []
    for action in plan.actions:
        playlist = by_id.get(action.playlist_id)
        rows.append(
            {
                "plan_date": day,
                "playlist_id": action.playlist_id,
                "policy_id": playlist.policy_id if playlist else action.playlist_id.rsplit("-", 1)[0],
                "theme": playlist.theme if playlist else None,
                "global_index": playlist.global_index if playlist else None,
                "account_id": action.to_account,
                "previous_account_id": action.from_account,
                "action": action.action,
                "reason": action.reason or None,
            }
        )
    if rows:
        retired = [r for r in rows if r["global_index"] is None]
        if retired:
            _, known = previous_plan(db, day)
            for r in retired:
                r["global_index"] = known.get(r["playlist_id"])
    db.replace(ASSIGNMENTS, ASSIGNMENTS.from_rows(rows), "plan_date = ?", [day])
    db.replace(
        ACCOUNTS,
        ACCOUNTS.from_rows(
            [
                {
                    "account_id": a.account_id,
                    "spotify_user_id": a.spotify_user_id,
                    "display_name": a.display_name,
                    "max_playlists": a.max_playlists,
                    "active": a.active,
                    "development_mode": a.development_mode,
                    "as_of": day,
                }
                for a in accounts
            ]
        ),
    )


@dataclass(frozen=True)
class PlannedPlaylist:
    playlist_id: str
    policy_id: str
    theme: str
    global_index: int
    account_id: str | None


def stored_plan(db: Warehouse, day: date) -> list[PlannedPlaylist] | None:
    """The playlists of the stored plan for `day` (None when the day has no plan)."""
    rows = db.read(ASSIGNMENTS, "plan_date = ? AND action <> ?", [day, "retire"])
    if not rows.height and not db.read(PLANS, "plan_date = ?", [day]).height:
        return None
    return [
        PlannedPlaylist(r["playlist_id"], r["policy_id"], r["theme"], int(r["global_index"]), r["account_id"])
        for r in rows.sort("global_index").iter_rows(named=True)
    ]


def planned_from(plan: Plan) -> list[PlannedPlaylist]:
    return [
        PlannedPlaylist(p.playlist_id, p.policy_id, p.theme, p.global_index, plan.assignment.get(p.playlist_id))
        for p in plan.playlists
    ]


def slots_for(playlists: list[PlannedPlaylist], policies: list[PlaylistPolicy]) -> tuple[list[Slot], list[str]]:
    """Snapshot slots for the planned playlists whose policy still exists (and notes for those that do not)."""
    by_id = {p.policy_id: p for p in policies}
    slots, notes = [], []
    for playlist in playlists:
        policy = by_id.get(playlist.policy_id)
        if policy is None:
            notes.append(f"{playlist.playlist_id}: policy {playlist.policy_id!r} is no longer in the policies file")
            continue
        slots.append(Slot(playlist.playlist_id, policy))
    return slots, notes


def recent_usage(db: Warehouse, day: date, current_max_gap: int) -> pl.DataFrame:
    """Snapshot rows of the days before `day` whose tracks may still be resting on `day`, each with the repeat gap
    of the playlist that used it (`track_id`, `snapshot_date`, `repeat_gap_days`). Rows written without their rules
    (the first version's) count with `current_max_gap`."""
    db.ensure(SNAPSHOT_PLAYLISTS, SNAPSHOTS)
    stored = db.scalar(
        "SELECT max(repeat_gap_days) FROM curation.snapshot_playlists WHERE snapshot_date >= ? AND snapshot_date < ?",
        [day - timedelta(days=366), day],
    )
    longest = max(current_max_gap, int(stored or 0))
    since = day - timedelta(days=longest)
    rows = db.read(SNAPSHOTS, "snapshot_date >= ? AND snapshot_date < ?", [since, day])
    rules = db.read(SNAPSHOT_PLAYLISTS, "snapshot_date >= ? AND snapshot_date < ?", [since, day])
    return (
        rows.join(
            rules.select("snapshot_date", "playlist_id", "repeat_gap_days"),
            on=["snapshot_date", "playlist_id"],
            how="left",
        )
        .with_columns(pl.col("repeat_gap_days").fill_null(current_max_gap))
        .select("track_id", "snapshot_date", "repeat_gap_days")
    )
