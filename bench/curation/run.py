"""Benchmark playlist rotation: 150,000 tracks, 300 playlists, 60 days, then prove no gap or cap was broken.

Two passes over the same generated catalog (seed 7: 150,000 tracks of 18,750 artists, albums of ~4 tracks, six
genres, tempo and energy for 85 % of them) and the same eight policies (K = 50, R = 5-14 days, caps 1-2 per
artist and album, five ordering rules), on 30 accounts × 10 playlists:

1. **engine** — the planner and the snapshot builder in one process, day after day (what one run does);
2. **dagster** — each day materialized through Dagster against a DuckDB warehouse, as the 02:00 and 04:00
   schedules do: `curation/playlist_plan` then `curation/playlist_snapshots` (catalog read from the warehouse,
   recent history read back, 15,000 rows written), with its checks.

Then the whole 60-day history in the warehouse is verified twice, independently of the builder: by
`backbeat.curation.verification.verify_history` (polars) and by a plain-Python replay (dicts, one row at a time).

    .venv/bin/python bench/curation/run.py                      # both passes, 60 days (~6 min)
    .venv/bin/python bench/curation/run.py --mode engine --days 60
"""

import argparse
import json
import math
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from backbeat.catalog.tables import AUDIO_FEATURES, TRACKS  # noqa: E402
from backbeat.curation.planner import Account, make_plan  # noqa: E402
from backbeat.curation.policy import PlaylistPolicy, parse_policies  # noqa: E402
from backbeat.curation.selection import CatalogIndex, Slot, Usage, build_day  # noqa: E402
from backbeat.curation.verification import verify_history  # noqa: E402

GENRES = ("ambient", "jazz", "house", "pop", "rock", "hip-hop")
START = date(2026, 9, 1)
POLICIES = {
    "defaults": {"size": 50, "max_per_artist": 2, "max_per_album": 2},
    "playlists": [
        {
            "policy_id": "chill",
            "theme": "Chill",
            "repeat_gap_days": 7,
            "order": "energy_arc",
            "filters": {"genres": ["ambient", "jazz"], "energy": {"max": 0.6}},
        },
        {
            "policy_id": "workout",
            "theme": "Workout",
            "repeat_gap_days": 5,
            "order": "tempo_ascending",
            "filters": {"genres": ["house", "hip-hop"], "tempo_bpm": {"min": 115, "max": 150}},
        },
        {
            "policy_id": "pop-hits",
            "theme": "Pop Hits",
            "repeat_gap_days": 7,
            "order": "popularity_descending",
            "filters": {"genres": ["pop"], "popularity": {"min": 40}},
        },
        {
            "policy_id": "rock",
            "theme": "Rock",
            "repeat_gap_days": 10,
            "max_per_album": 1,
            "filters": {"genres": ["rock"]},
        },
        {
            "policy_id": "deep-focus",
            "theme": "Deep Focus",
            "repeat_gap_days": 14,
            "order": "tempo_ascending",
            "filters": {"genres": ["ambient"], "explicit": False, "tempo_bpm": {"max": 110}},
        },
        {
            "policy_id": "everything",
            "theme": "Everything Clean",
            "repeat_gap_days": 10,
            "max_per_artist": 1,
            "filters": {"explicit": False},
        },
        {
            "policy_id": "new",
            "theme": "New Releases",
            "repeat_gap_days": 7,
            "order": "release_date_descending",
            "filters": {"release_date": {"from": "2015-01-01"}},
        },
        {
            "policy_id": "late-night",
            "theme": "Late Night",
            "repeat_gap_days": 7,
            "order": "energy_descending",
            "filters": {"genres": ["jazz", "hip-hop"], "energy": {"max": 0.5}},
        },
    ],
}


def generate_tracks(n: int, seed: int) -> pl.DataFrame:
    """`n` usable-catalog tracks: artists of 8 tracks, albums of 4, six genres, features for 85 %."""
    rng = np.random.default_rng(seed)
    i = np.arange(n)
    artist = i // 8
    has_features = rng.random(n) < 0.85
    days = rng.integers(0, 20_000, n)
    return pl.DataFrame(
        {
            "track_id": [f"T{k:07d}" for k in i],
            "isrc": [f"QZB{k % 100:02d}{k // 100 % 100:02d}{k:05d}"[:12] for k in i],
            "title": [f"Track {k}" for k in i],
            "artist_id": [f"A{a:06d}" for a in artist],
            "album": [f"Album {k // 4}" for k in i],
            "genre": [GENRES[a % 6] for a in artist],
            "explicit": rng.random(n) < 0.15,
            "popularity": rng.integers(0, 101, n),
            "release_date": [date(1970, 1, 1) + timedelta(days=int(d)) for d in days],
            "duration_ms": rng.integers(120_000, 360_000, n),
            "tempo_bpm": np.where(has_features, np.round(rng.uniform(60, 180, n), 1), np.nan),
            "energy": np.where(has_features, np.round(rng.random(n), 3), np.nan),
        }
    ).with_columns(pl.col("tempo_bpm").fill_nan(None), pl.col("energy").fill_nan(None))


def accounts(n: int = 30, cap: int = 10) -> list[Account]:
    return [Account(f"acct-{k:02d}", f"user-{k:02d}", cap) for k in range(n)]


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_pass(tracks: pl.DataFrame, policies: list[PlaylistPolicy], days: int) -> dict:
    started = time.perf_counter()
    catalog = CatalogIndex(tracks)
    pools = {p.policy_id: catalog.pool(p) for p in policies}
    index_s = time.perf_counter() - started
    by_id = {p.policy_id: p for p in policies}
    usage, previous, known = Usage(len(catalog)), {}, {}
    per_day, rows, short, plans = [], [], 0, []
    for n in range(days):
        day = START + timedelta(days=n)
        t0 = time.perf_counter()
        plan = make_plan(day, policies, pools, len(catalog), accounts(), previous, known)
        previous = {p.playlist_id: plan.assignment[p.playlist_id] for p in plan.playlists}
        known |= {p.playlist_id: p.global_index for p in plan.playlists}
        slots = [Slot(p.playlist_id, by_id[p.policy_id]) for p in plan.playlists]
        snapshots = build_day(catalog, slots, usage, day)
        per_day.append(time.perf_counter() - t0)
        short += sum(s.short for s in snapshots)
        plans.append(plan.stats)
        rows.append(
            pl.DataFrame(
                {
                    "snapshot_date": [day] * sum(len(s.track_ids) for s in snapshots),
                    "playlist_id": [s.playlist_id for s in snapshots for _ in s.track_ids],
                    "track_id": [t for s in snapshots for t in s.track_ids],
                }
            )
        )
    history = pl.concat(rows)
    rules = pl.DataFrame(
        [
            {
                "playlist_id": s.playlist_id,
                "repeat_gap_days": s.policy.repeat_gap_days,
                "max_per_artist": s.policy.max_per_artist,
                "max_per_album": s.policy.max_per_album,
            }
            for s in slots
        ]
    )
    return {
        "index_s": index_s,
        "per_day": per_day,
        "history": history,
        "rules": rules,
        "short": short,
        "plan": plans[0],
    }


def dagster_pass(tracks: pl.DataFrame, days: int, workdir: Path) -> dict:
    from dagster import DagsterInstance, materialize

    from assets.common.paths import DataDirResource
    from assets.curation.assets import playlist_plan, playlist_snapshots
    from assets.curation.checks import (
        plan_fits_account_capacity,
        snapshots_are_full_or_warned,
        snapshots_never_repeat_within_gap,
        snapshots_respect_their_policies,
    )
    from integrations.warehouse import Warehouse, WarehouseResource

    url = f"duckdb:///{workdir / 'warehouse.duckdb'}"
    db = Warehouse(url)
    inbox = workdir / "data" / "inbox" / "curation"
    inbox.mkdir(parents=True)
    (inbox / "policies.json").write_text(json.dumps(POLICIES))
    (inbox / "accounts.json").write_text(json.dumps({"accounts": [a.__dict__ for a in accounts()]}))
    t0 = time.perf_counter()
    extra = {c: None for c in TRACKS.column_names if c not in tracks.columns}
    db.replace(TRACKS, TRACKS.conform(tracks.with_columns([pl.lit(v).alias(c) for c, v in extra.items()])))
    features = tracks.filter(pl.col("tempo_bpm").is_not_null()).with_columns(pl.lit("bench").alias("content_hash"))
    extra = {c: None for c in AUDIO_FEATURES.column_names if c not in features.columns}
    db.replace(
        AUDIO_FEATURES, AUDIO_FEATURES.conform(features.with_columns([pl.lit(v).alias(c) for c, v in extra.items()]))
    )
    load_s = time.perf_counter() - t0
    resources = {"data_dir": DataDirResource(data_dir=str(workdir / "data")), "warehouse": WarehouseResource(url=url)}
    checks = [
        plan_fits_account_capacity,
        snapshots_never_repeat_within_gap,
        snapshots_respect_their_policies,
        snapshots_are_full_or_warned,
    ]
    per_day, check_failures = [], []
    with DagsterInstance.ephemeral() as instance:
        for n in range(days):
            day = START + timedelta(days=n)
            t0 = time.perf_counter()
            result = materialize(
                [playlist_plan, playlist_snapshots, *checks],
                resources=resources,
                partition_key=day.isoformat(),
                instance=instance,
                run_config={"loggers": {"console": {"config": {"log_level": "ERROR"}}}},
            )
            per_day.append(time.perf_counter() - t0)
            if not result.success:
                raise SystemExit(f"{day}: run failed")
            check_failures += [f"{day} {e.check_name}" for e in result.get_asset_check_evaluations() if not e.passed]
            print(f"  {day}: {per_day[-1]:.2f} s", flush=True)
    history = db.query("SELECT snapshot_date, playlist_id, position, track_id FROM curation.playlist_snapshots")
    rules = db.query(
        "SELECT snapshot_date, playlist_id, repeat_gap_days, max_per_artist, max_per_album, tracks, "
        "target_size, warning FROM curation.snapshot_playlists"
    )
    return {
        "load_s": load_s,
        "per_day": per_day,
        "history": history,
        "rules": rules,
        "check_failures": check_failures,
        "warehouse_mib": (workdir / "warehouse.duckdb").stat().st_size / 2**20,
    }


def replay_check(history: pl.DataFrame, rules: pl.DataFrame, tracks: pl.DataFrame) -> Counter:
    """The same facts, checked row by row in plain Python (no polars joins, no numpy): an independent proof.

    A use must come on or after the day the track's previous use freed it (that use's day + its playlist's R),
    and at least R days after the previous use by the same policy; caps per playlist-day; no track twice a day."""
    artist = dict(zip(tracks["track_id"].to_list(), tracks["artist_id"].to_list(), strict=True))
    album = dict(zip(tracks["track_id"].to_list(), tracks["album"].to_list(), strict=True))
    rule = {r["playlist_id"]: r for r in rules.unique("playlist_id").iter_rows(named=True)}
    found: Counter = Counter(
        {
            "repeat_gap": 0,
            "policy_gap": 0,
            "same_day_twice": 0,
            "artist_cap": 0,
            "album_cap": 0,
            "duplicate_in_playlist": 0,
            "rows": 0,
        }
    )
    free_from: dict[str, date] = {}
    own_last: dict[tuple[str, str], date] = {}
    current, counts, day, day_uses = None, None, None, set()
    for row in history.sort("snapshot_date", "playlist_id", "position").iter_rows(named=True):
        track_id, when, playlist = row["track_id"], row["snapshot_date"], row["playlist_id"]
        r = rule[playlist]
        policy = playlist.rsplit("-", 1)[0]
        if when != day:
            day, day_uses = when, set()
        if (when, playlist) != current:
            current, counts = (when, playlist), (Counter(), Counter(), Counter())
        if track_id in free_from and when < free_from[track_id]:
            found["repeat_gap"] += 1
        if (track_id, policy) in own_last and (when - own_last[track_id, policy]).days < r["repeat_gap_days"]:
            found["policy_gap"] += 1
        if track_id in day_uses:
            found["same_day_twice"] += 1
        day_uses.add(track_id)
        freed = when + timedelta(days=r["repeat_gap_days"])
        free_from[track_id] = max(free_from.get(track_id, freed), freed)
        own_last[track_id, policy] = when
        counts[0][artist[track_id]] += 1
        counts[1][album[track_id]] += 1
        counts[2][track_id] += 1
        found["artist_cap"] += counts[0][artist[track_id]] == r["max_per_artist"] + 1
        found["album_cap"] += counts[1][album[track_id]] == r["max_per_album"] + 1
        found["duplicate_in_playlist"] += counts[2][track_id] == 2
        found["rows"] += 1
    return found


def corrupted_copy_is_caught(history: pl.DataFrame, rules: pl.DataFrame, tracks: pl.DataFrame) -> bool:
    """Both verifiers must fail on a history with one planted repeat (so their zeros above mean something)."""
    first = history.filter(pl.col("snapshot_date") == START).sort("playlist_id", "position").row(0, named=True)
    planted = history.with_columns(
        pl.when(
            (pl.col("snapshot_date") == START + timedelta(days=1))
            & (pl.col("playlist_id") == first["playlist_id"])
            & (pl.col("position") == 1)
        )
        .then(pl.lit(first["track_id"]))
        .otherwise(pl.col("track_id"))
        .alias("track_id")
    )
    found, replay = verify_history(planted, rules, tracks), replay_check(planted, rules, tracks)
    return (
        found["repeat_gap"] >= 1
        and found["policy_gap"] >= 1
        and replay["repeat_gap"] >= 1
        and replay["policy_gap"] >= 1
    )


def summary(label: str, per_day: list[float]) -> str:
    ordered = sorted(per_day)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return (
        f"{label}: {len(per_day)} days, mean {statistics.mean(per_day):.3f} s/day, median "
        f"{statistics.median(per_day):.3f}, p95 {p95:.3f}, max {max(per_day):.3f}, total {sum(per_day):.1f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tracks", type=int, default=150_000)
    parser.add_argument("--days", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--mode", choices=("engine", "dagster", "both"), default="both")
    args = parser.parse_args()
    random.seed(args.seed)
    t0 = time.perf_counter()
    tracks = generate_tracks(args.tracks, args.seed)
    policies = parse_policies(POLICIES, "bench policies")
    print(
        f"generated {tracks.height:,} tracks ({tracks['artist_id'].n_unique():,} artists) in "
        f"{time.perf_counter() - t0:.1f} s"
    )
    ok, engine_history = True, None
    if args.mode in ("engine", "both"):
        result = engine_pass(tracks, policies, args.days)
        plan = result["plan"]
        print(
            f"plan: T = {plan['usable_tracks']:,} usable ({plan['matching_tracks']:,} match a policy), "
            f"P* = {plan['p_star']}, capacity {plan['capacity']}, planned {plan['planned']} "
            f"(limited by {plan['limited_by']})"
        )
        for d in plan["policies"]:
            print(
                f"  {d['policy_id']:<11} T {d['usable_tracks']:>7,} shared {d['effective_tracks']:>9,.1f} "
                f"K {d['size']} R {d['gap_days']:>2}  P* {d['p_star']:>3}  planned {d['planned']:>3}"
            )
        print(f"catalog index + pools: {result['index_s']:.2f} s")
        print(summary("engine", result["per_day"]))
        found = verify_history(result["history"], result["rules"], tracks)
        print(f"engine verification (polars): {found}; short snapshots {result['short']}")
        ok &= found["repeat_gap"] == found["policy_gap"] == found["artist_cap"] == found["album_cap"] == 0
        ok &= found["duplicate_in_playlist"] == 0
        print(f"peak RSS so far {peak_rss_mib():.0f} MiB")
        engine_history = result["history"]
    if args.mode in ("dagster", "both"):
        with tempfile.TemporaryDirectory(prefix="bench-curation-") as tmp:
            print("dagster pass (plan + snapshots + checks per day, DuckDB):")
            result = dagster_pass(tracks, args.days, Path(tmp))
            history, rules = result["history"], result["rules"]
            print(f"warehouse load {result['load_s']:.1f} s; warehouse file {result['warehouse_mib']:.0f} MiB")
            print(summary("dagster", result["per_day"]))
            found = verify_history(history, rules, tracks)
            replay = replay_check(history, rules, tracks)
            full = rules.filter(pl.col("tracks") == pl.col("target_size")).height
            warned = rules.filter((pl.col("tracks") < pl.col("target_size")) & pl.col("warning").is_not_null()).height
            print(
                f"history: {history.height:,} rows, {rules.height:,} playlist-days ({full:,} full, {warned} short "
                f"with a warning, {rules.height - full - warned} short without), "
                f"{history['track_id'].n_unique():,} distinct tracks used"
            )
            short = (
                rules.filter(pl.col("tracks") < pl.col("target_size"))
                .with_columns(pl.col("playlist_id").str.replace(r"-\d{3}$", "").alias("policy"))
                .group_by("policy")
                .agg(pl.len().alias("short_days"), (pl.col("target_size") - pl.col("tracks")).sum().alias("missing"))
                .sort("policy")
            )
            print(
                "short snapshots by policy: "
                + (", ".join(f"{p} {n} ({m} tracks)" for p, n, m in short.iter_rows()) or "none")
                + f"; fill {history.height / rules['target_size'].sum():.2%}"
            )
            print(f"verification (polars): {found}")
            print(f"verification (plain-Python replay): {dict(sorted(replay.items()))}")
            print(f"asset checks failed: {len(result['check_failures'])} {result['check_failures'][:5]}")
            caught = corrupted_copy_is_caught(history, rules, tracks)
            print(f"a corrupted copy (one track of day 2 put back into day 1's playlist) is caught: {caught}")
            ok &= caught
            if engine_history is not None:  # two runs, two code paths, one answer: the rotation is deterministic
                same = engine_history.sort("snapshot_date", "playlist_id", "track_id").equals(
                    history.select("snapshot_date", "playlist_id", "track_id").sort(
                        "snapshot_date", "playlist_id", "track_id"
                    )
                )
                print(f"dagster history identical to the engine pass: {same}")
                ok &= same
            ok &= found["repeat_gap"] == found["policy_gap"] == found["artist_cap"] == found["album_cap"] == 0
            ok &= replay["repeat_gap"] == replay["policy_gap"] == replay["artist_cap"] == replay["album_cap"] == 0
            ok &= replay["same_day_twice"] == replay["duplicate_in_playlist"] == 0
            ok &= replay["rows"] == history.height and not result["check_failures"]
            ok &= rules.height - full - warned == 0
    print(f"peak RSS {peak_rss_mib():.0f} MiB")
    print("VERIFIED: no repeat-gap or cap violation" if ok else "VIOLATIONS FOUND")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
