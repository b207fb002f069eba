"""The curation assets materialized through Dagster, on DuckDB and on a real PostgreSQL, syncing to a fake
Spotify: plan → snapshots → sync and their checks, a re-run, a refusing account, accounts that change."""

import json
import math
import random
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from dagster import materialize

from assets.common.paths import DataDirResource
from assets.curation.assets import playlist_plan, playlist_snapshots, playlist_sync
from assets.curation.checks import CURATION_CHECKS
from backbeat.catalog.tables import ARTISTS, AUDIO_FEATURES, SOURCE_RECORDINGS, TRACKS
from backbeat.curation.tables import (
    ASSIGNMENTS,
    PLANS,
    SNAPSHOT_PLAYLISTS,
    SNAPSHOTS,
    SYNC,
    SYNC_SKIPS,
)
from backbeat.curation.verification import verify_history
from backbeat.demo.standins import FakeSpotify
from integrations.resilience import TokenStore
from integrations.spotify.accounts import SpotifyAccountsResource
from integrations.spotify.playlists import store_refresh_token
from integrations.warehouse import Table, Warehouse, WarehouseResource

DAYS = [date(2026, 11, 2), date(2026, 11, 3)]
POLICIES_YAML = """
defaults: {max_per_artist: 2, max_per_album: 2}
playlists:
  - policy_id: calm
    theme: Calm
    description: Slow ambient and jazz.
    size: 20
    repeat_gap_days: 4
    filters: {genres: [ambient, jazz], explicit: false, tempo_bpm: {max: 120}}
    order: tempo_ascending
    min_playlists: 1
  - policy_id: lift
    theme: Lift
    size: 25
    repeat_gap_days: 2
    filters: {genres: [house, pop, hip-hop]}
    order: energy_arc
    max_playlists: 4
  - policy_id: rare
    theme: Rare Gems
    size: 30
    repeat_gap_days: 7
    filters: {popularity: {max: 1}}
"""
ACCOUNTS = [
    {"account_id": "main", "spotify_user_id": "user-main", "max_playlists": 3, "active": True},
    {"account_id": "second", "spotify_user_id": "user-second", "max_playlists": 3, "active": True},
    {"account_id": "dev", "spotify_user_id": "user-dev", "max_playlists": 2, "active": True},
]


@dataclass
class Env:
    data_dir: Path
    url: str
    server: FakeSpotify
    resources: dict

    @property
    def db(self) -> Warehouse:
        return Warehouse(self.url)

    def run(self, day: date) -> dict:
        result = materialize(
            [playlist_plan, playlist_snapshots, playlist_sync, *CURATION_CHECKS],
            resources=self.resources,
            partition_key=day.isoformat(),
        )
        assert result.success
        checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
        metadata = {
            str(m.asset_key.path[-1]): m.metadata
            for m in result.get_asset_materialization_events()
            for m in [m.event_specific_data.materialization]
        }
        return {"checks": checks, "metadata": metadata}

    def write_accounts(self, accounts: list[dict]) -> None:
        (self.data_dir / "inbox" / "curation" / "accounts.json").write_text(json.dumps({"accounts": accounts}))


def as_table(table: Table, frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` in `table`'s columns, those it lacks left null."""
    return table.conform(
        frame.with_columns([pl.lit(None).alias(c) for c in table.column_names if c not in frame.columns])
    )


def seed_warehouse(db: Warehouse, tracks: pl.DataFrame) -> None:
    """Catalog tracks, artists, audio features for those that have them, Spotify ids for 9 in 10 ISRCs."""
    rng = random.Random(11)
    db.replace(TRACKS, as_table(TRACKS, tracks))
    artists = tracks.select("artist_id").unique().sort("artist_id")
    db.replace(ARTISTS, as_table(ARTISTS, artists.with_columns(("Artist " + pl.col("artist_id")).alias("name"))))
    features = tracks.filter(pl.col("tempo_bpm").is_not_null()).with_columns(pl.lit("h").alias("content_hash"))
    db.replace(AUDIO_FEATURES, as_table(AUDIO_FEATURES, features))
    alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
    spotify = pl.DataFrame(
        [
            {"source": "spotify", "source_id": "".join(rng.choices(alphabet, k=22)), "isrc": isrc}
            for n, isrc in enumerate(tracks["isrc"])
            if n % 10
        ]
    )
    db.replace(SOURCE_RECORDINGS, as_table(SOURCE_RECORDINGS, spotify))


@pytest.fixture(params=["duckdb", "postgres"])
def env(request, tmp_path: Path, spotify: FakeSpotify, tracks_factory) -> Env:
    """The same environment on each warehouse."""
    if request.param == "duckdb":
        return make_env(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path, spotify, tracks_factory)
    url = request.getfixturevalue("postgres_server").create_database("curation_assets")
    return make_env(url, tmp_path, spotify, tracks_factory)


@pytest.fixture
def duckdb_env(tmp_path: Path, spotify: FakeSpotify, tracks_factory) -> Env:
    return make_env(f"duckdb:///{tmp_path / 'warehouse.duckdb'}", tmp_path, spotify, tracks_factory)


def make_env(url: str, tmp_path: Path, spotify: FakeSpotify, tracks_factory) -> Env:
    data_dir = tmp_path / "data"
    (data_dir / "inbox" / "curation").mkdir(parents=True)
    (data_dir / "inbox" / "curation" / "policies.yaml").write_text(POLICIES_YAML)
    key = TokenStore.generate_key()
    store = TokenStore(tmp_path / "tokens", key)
    for account_id in ("main", "second", "dev"):
        store_refresh_token(store, account_id, f"refresh-{account_id}")
    resources = {
        "data_dir": DataDirResource(data_dir=str(data_dir)),
        "warehouse": WarehouseResource(url=url),
        "spotify_accounts": SpotifyAccountsResource(
            client_id=spotify.client_id,
            client_secret=spotify.client_secret,
            api_url=spotify.api_url,
            token_url=spotify.token_url,
            token_dir=str(tmp_path / "tokens"),
            secret_key=key,
            requests_per_second=500,
            burst=50,
        ),
    }
    built = Env(data_dir, url, spotify, resources)
    built.write_accounts(ACCOUNTS)
    seed_warehouse(built.db, tracks_factory(1200, seed=8))
    return built


def test_a_curated_day_end_to_end(env: Env) -> None:
    db = env.db
    first = env.run(DAYS[0])
    assert first["checks"] == {
        name: True
        for name in (
            "snapshots_never_repeat_within_gap",
            "snapshots_respect_their_policies",
            "snapshots_are_full_or_warned",
            "plan_fits_account_capacity",
            "sync_created_no_duplicates",
            "unsynced_playlists_have_file_exports",
        )
    }

    plan = db.read(PLANS).row(0, named=True)
    stats = json.loads(plan["stats_json"])
    demands = {p["policy_id"]: p for p in stats["policies"]}
    assert plan["usable_tracks"] == 1200 and plan["capacity"] == 8 and plan["batch_tag"] == "2026-11-02"
    lift = demands["lift"]
    assert lift["p_star"] == math.ceil(lift["effective_tracks"] / (25 * 2)) >= 4 and lift["planned"] == 4  # ceiling
    assert plan["p_star"] == sum(d["p_star"] for d in demands.values())
    assignments = db.read(ASSIGNMENTS)
    assert assignments.height == plan["planned"] == plan["assigned"] <= 8
    assert set(assignments["action"]) == {"create"}

    snapshots, rules = db.read(SNAPSHOTS), db.read(SNAPSHOT_PLAYLISTS)
    assert rules.height == plan["planned"] and set(snapshots["batch_tag"]) == {"2026-11-02"}
    rare = rules.filter(pl.col("policy_id") == "rare").row(0, named=True)
    assert rare["tracks"] < 30 and "only" in rare["warning"]  # ~24 tracks have popularity ≤ 1: short, and says so
    full = rules.filter(pl.col("policy_id") != "rare")
    assert (full["tracks"] == full["target_size"]).all() and full["warning"].null_count() == full.height

    sync = db.read(SYNC).sort("global_index")
    by_status = dict(sync.group_by("status").len().iter_rows())
    dev_rows = sync.filter(pl.col("account_id") == "dev")
    assert by_status.get("refused", 0) == dev_rows.height > 0 and set(dev_rows["status"]) == {"refused"}
    assert by_status["synced"] == sync.height - dev_rows.height
    synced = sync.filter(pl.col("status") == "synced")
    for row in synced.iter_rows(named=True):
        remote = env.server.playlists[row["spotify_playlist_id"]]
        assert remote.name == row["playlist_name"] and remote.name.endswith("• 2026-11-02")
        expected = snapshots.filter(pl.col("playlist_id") == row["playlist_id"]).height - row["tracks_skipped"]
        assert len(remote.uris) == row["tracks_sent"] == expected
    skips = db.read(SYNC_SKIPS)
    assert skips.height == sync["tracks_skipped"].sum() > 0
    exported = sorted(Path(p).name for p in dev_rows["export_m3u"])
    assert exported and all((env.data_dir / "exports" / "curation" / "2026-11-02" / n).is_file() for n in exported)

    created_before = env.server.count("create_playlist", 201)
    second = env.run(DAYS[1])
    assert all(second["checks"].values()), second["checks"]
    day_two = db.read(SNAPSHOTS, "snapshot_date = ?", [DAYS[1]])
    rerun = env.run(DAYS[1])  # a re-run of a day: same snapshot, same playlists, nothing created
    assert all(rerun["checks"].values())
    assert (
        db.read(SNAPSHOTS, "snapshot_date = ?", [DAYS[1]])
        .sort("playlist_id", "position")
        .equals(day_two.sort("playlist_id", "position"))
    )
    assert env.server.count("create_playlist", 201) == created_before == synced.height
    sync_two = db.read(SYNC, "sync_date = ?", [DAYS[1]]).filter(pl.col("status") == "synced")
    assert set(sync_two["action"]) == {"updated"}
    assert set(sync_two["spotify_playlist_id"]) == set(synced["spotify_playlist_id"])
    assert rerun["metadata"]["playlist_sync"]["synced"].value == synced.height

    history = db.read(SNAPSHOTS)
    found = verify_history(history, db.read(SNAPSHOT_PLAYLISTS), db.read(TRACKS))
    assert (found["repeat_gap"], found["artist_cap"], found["album_cap"]) == (0, 0, 0)


def test_accounts_that_change_move_few_playlists_and_declared_dev_mode_is_exported(duckdb_env: Env) -> None:
    env = duckdb_env
    accounts = [
        *ACCOUNTS,
        {"account_id": "extra", "spotify_user_id": "user-second", "max_playlists": 3, "active": False},
    ]
    env.write_accounts(accounts)
    env.run(DAYS[0])
    before = dict(env.db.read(ASSIGNMENTS).select("playlist_id", "account_id").iter_rows())
    accounts[0] = {**accounts[0], "active": False}  # main leaves ...
    accounts[3] = {**accounts[3], "active": True}  # ... extra joins
    accounts[2] = {**accounts[2], "development_mode": True}  # and dev is now known to be a development-mode app
    env.write_accounts(accounts)
    day = env.run(DAYS[1])
    assert all(day["checks"].values()), day["checks"]
    after = env.db.read(ASSIGNMENTS, "plan_date = ?", [DAYS[1]])
    moved = after.filter(pl.col("action") == "move")
    assert moved.height and "main" not in set(after["account_id"].drop_nulls())
    # every move is off the account that left or onto the one that joined; everything else stays put
    assert all(
        src == "main" or dst == "extra" for src, dst in moved.select("previous_account_id", "account_id").iter_rows()
    )
    now = dict(after.select("playlist_id", "account_id").iter_rows())
    assert all(now[p] == a for p, a in before.items() if a != "main" and now[p] != "extra")
    dev = env.db.read(SYNC, "sync_date = ? AND account_id = ?", [DAYS[1], "dev"])
    assert set(dev["status"]) == {"refused"} and dev["error"].str.contains("declared in accounts.json").all()
    assert env.server.count("create_playlist", 403) == 1  # only day one asked Spotify for dev
