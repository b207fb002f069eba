"""Catalog scale (issue 19): how indexing and matching grow from 50 to 10,000 reference tracks.

    nice -n 5 .venv/bin/python bench/airplay/scale.py prepare --synthetic 10000 --workers 2
    nice -n 5 .venv/bin/python bench/airplay/scale.py run --sizes 50 500 2000 10000
    nice -n 5 .venv/bin/python bench/airplay/scale.py run --sizes 50 10000 --keep-index \
        --newer-profiles bench/.work/airplay-19
    .venv/bin/python bench/airplay/scale.py run --sizes 50 10000 --day-size 0 --keep-index --vote-budget 400000

Every catalog size holds the airplay benchmark's 33 catalog tracks (so the simulated stations' plays are in
it), then every other real track we have (Debian music and game-data packages, ``real_extra_tracks``), then
SYNTHETIC tracks (``synth_music.py``, generated from a seed, labelled ``synthetic/NNNNN``) up to the size.
``prepare`` fingerprints all of them once into two caches under ``bench/.work/scale/`` (real files through
``build_index``; synthetic audio straight from memory through ``store_track``). ``run`` builds one index per
size from hard links to the cached tracks (``write_index``: the postings only, timed in a child process), matches
the same simulated chunks against each (a child process per size: CPU seconds, peak RSS via ``os.wait4``),
merges and scores the plays (false plays are plays of a track the truth does not have there), and at the
largest size matches one station-day of chunks in one call, as ``station_day_memory.py`` does. With
``--newer-profiles`` it also matches an airplay-19 run's tempo and off-air chunks at each size. Results:
``bench/.work/scale/results.json`` and a table on stdout.

warzone2100-music, nexuiz-music and asc-music are kept for an independent check: never read here.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chunk_lists import chunk_refs_csv  # noqa: E402
from debmusic import MUSIC, WORK, catalog_tracks  # noqa: E402

SCALE = WORK / "scale"
REAL = SCALE / "real"
SYNTH = SCALE / "synth"
# The stations' chunks (hard links) and truth, copied from bench/.work/airplay when first needed so a re-simulation
# elsewhere does not change a run halfway.
SNAPSHOT_FILES = ("truth.csv", "stations.csv", "catalog.csv")
RESERVED_PACKAGES = {"warzone2100-music", "nexuiz-music", "asc-music"}  # the independent check's music
# Played on the stations as music *not* in the catalog: never a reference.
OUTSIDE_PACKAGES = {"drascula-music"}
AUDIO_SUFFIXES = {".ogg", ".flac", ".mp3", ".wav", ".opus"}
MIN_TRACK_S = 30.0
SYNTH_BLOCK = 250  # tracks per claimed unit of work
CHUNKS_PER_DAY = 2_880


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def real_extra_tracks(music: Path = MUSIC) -> list[tuple[str, Path, str]]:
    """(track id, file, package) of every unpacked Debian track of ≥ 30 s outside the airplay catalog and the
    stations' non-catalog music, de-duplicated by content, in a fixed order."""
    catalog_digests = {hashlib.sha1(t.path.read_bytes()).hexdigest() for t in catalog_tracks(music)}
    seen = set(catalog_digests)
    tracks = []
    for package_dir in sorted(p for p in music.iterdir() if p.is_dir()):
        package = package_dir.name
        if package in RESERVED_PACKAGES or package in OUTSIDE_PACKAGES:
            continue
        for path in sorted(p for p in package_dir.rglob("*") if p.suffix.lower() in AUDIO_SUFFIXES and p.is_file()):
            if path.stat().st_size < 200_000:
                continue
            try:
                if sf.info(str(path)).duration < MIN_TRACK_S:
                    continue
            except (sf.LibsndfileError, RuntimeError):
                continue  # not audio libsndfile knows (a few game formats); ffmpeg-only files are not worth it here
            digest = hashlib.sha1(path.read_bytes()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            name = _slug(str(path.relative_to(package_dir).with_suffix("")))[-60:]
            tracks.append((f"real/{package}/{name}", path, package))
    return tracks


# prepare


def _synth_block(block: int) -> None:
    """Generate and fingerprint one block of synthetic tracks, unless another process has claimed it."""
    try:
        os.close(os.open(SYNTH / f"rows-{block:04d}.claim", os.O_CREAT | os.O_EXCL | os.O_WRONLY))
    except FileExistsError:
        return
    from synth_music import SYNTH_VERSION, synth_track

    from audio.decode import SAMPLE_RATE
    from audio.fingerprint import landmark_hashes
    from audio.index import store_track

    rows = []
    for seed in range(block * SYNTH_BLOCK, (block + 1) * SYNTH_BLOCK):
        samples = synth_track(seed)
        rows.append(
            store_track(
                SYNTH,
                f"synthetic/{seed:05d}",
                landmark_hashes(samples),
                path=f"synthetic:{SYNTH_VERSION}:{seed}",
                content_hash=f"synthetic-v{SYNTH_VERSION}-{seed}",
                duration_s=samples.size / SAMPLE_RATE,
            )
        )
    pl.DataFrame(rows).write_parquet(SYNTH / f"rows-{block:04d}.parquet")


def prepare(n_synthetic: int, workers: int, only: str | None, reverse: bool) -> None:
    """Fingerprint the real tracks (``only="real"``) and the synthetic ones (``only="synthetic"``), or both.

    Synthetic blocks are claimed through a file each, so several ``prepare`` processes can share the work
    (``reverse`` takes the blocks from the end).
    """
    SCALE.mkdir(parents=True, exist_ok=True)
    for name in SNAPSHOT_FILES:
        if not (SCALE / name).exists():
            shutil.copy(WORK / "airplay" / name, SCALE / name)
    if not (SCALE / "chunks").exists():
        shutil.copytree(WORK / "airplay" / "chunks", SCALE / "chunks", copy_function=os.link)
    if only != "synthetic":
        prepare_real()
    if only == "real":
        return
    (SYNTH / "tracks").mkdir(parents=True, exist_ok=True)
    blocks = [b for b in range(-(-n_synthetic // SYNTH_BLOCK)) if not (SYNTH / f"rows-{b:04d}.claim").exists()]
    started = time.perf_counter()
    with ProcessPoolExecutor(workers) as pool:
        for done, _ in enumerate(pool.map(_synth_block, blocks[::-1] if reverse else blocks), 1):
            print(f"synthetic: block {done}/{len(blocks)}, {time.perf_counter() - started:.0f} s", flush=True)


def prepare_real() -> None:
    """Fingerprint the airplay catalog and every other real track into the real cache (incremental)."""
    from audio.index import build_index

    extras = real_extra_tracks()
    real = [(t.track_id, t.path) for t in catalog_tracks()] + [(tid, path) for tid, path, _ in extras]
    with open(SCALE / "real_tracks.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["track_id", "path", "package"])
        writer.writerows([(t.track_id, t.path, t.package) for t in catalog_tracks()] + extras)
    started = time.perf_counter()
    report = build_index(real, REAL)
    print(
        f"real: {report.tracks_total} tracks ({report.tracks_fingerprinted} fingerprinted, {len(report.failures)} "
        f"failed), {report.reference_seconds / 3600:.1f} h, {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    for failure in report.failures:
        print("  failed:", failure)


# run


def _rows(n: int) -> pl.DataFrame:
    """Manifest rows of the size-``n`` catalog, with the cache each track's fingerprints sit in."""
    from audio.index import MANIFEST_FILE

    real = pl.read_parquet(REAL / MANIFEST_FILE).with_columns(cache=pl.lit(str(REAL)))
    order = pl.read_csv(SCALE / "real_tracks.csv")["track_id"].to_list()
    real = real.filter(pl.col("track_id").is_in(order)).sort(
        pl.col("track_id").replace_strict(order, range(len(order)))
    )
    synth = pl.concat(pl.read_parquet(p) for p in sorted(SYNTH.glob("rows-*.parquet"))).sort("track_id")
    synth = synth.with_columns(cache=pl.lit(str(SYNTH)))
    rows = pl.concat([real.select(synth.columns), synth]).head(n)
    if rows.height < n:
        raise SystemExit(f"only {rows.height} tracks prepared, {n} asked: run prepare with more --synthetic")
    return rows


def _index_dir(n: int) -> Path:
    return SCALE / f"index-{n}"


def _chunk_refs(day: bool, chunks_csv: Path | None = None) -> list[Any]:
    from audio.matcher import ChunkRef

    listed = chunks_csv or SCALE / "chunks.csv"
    if not day:
        return chunk_refs_csv(listed)
    with open(listed, newline="") as handle:
        rows = list(csv.DictReader(handle))
    # One station-day: the chunks in turn under consecutive times, as station_day_memory.py does.
    first = datetime.fromisoformat(rows[0]["start_utc"]).replace(hour=0, minute=0, second=0)
    return [
        ChunkRef(f"day_{i:04d}", "one-station", first + timedelta(seconds=30 * i), Path(rows[i % len(rows)]["path"]))
        for i in range(CHUNKS_PER_DAY)
    ]


def stage_write_index(n: int) -> None:
    from audio.index import track_file, write_index

    rows = pl.read_parquet(_index_dir(n) / "rows.parquet")
    for track_id, cache in zip(rows["track_id"], rows["cache"], strict=True):
        os.link(track_file(Path(cache), track_id), track_file(_index_dir(n), track_id))
    started = time.process_time()
    write_index(_index_dir(n), rows.drop("cache").to_dicts())
    print(json.dumps({"write_cpu_s": time.process_time() - started}))


def stage_match(
    n: int, day: bool, vote_budget: int | None, shortlist: int | None, chunks_csv: Path | None = None
) -> None:
    import audio.matcher
    from audio.index import FingerprintIndex
    from audio.matcher import match_chunks

    if vote_budget is not None:
        audio.matcher.CHUNK_VOTE_BUDGET = vote_budget or None  # 0: no budget
    if shortlist is not None:
        audio.matcher.SHORTLIST_TRACKS = shortlist

    class CountingIndex(FingerprintIndex):
        """The index, counting the postings each lookup returns (the matcher's votes) and the CPU it takes."""

        votes = 0
        shortlist_votes = 0
        lookup_cpu_s = 0.0

        def budgeted_lookup(self, hashes: Any, *args: Any, **kwargs: Any) -> Any:
            started = time.process_time()
            found = super().budgeted_lookup(hashes, *args, **kwargs)
            CountingIndex.lookup_cpu_s += time.process_time() - started
            CountingIndex.votes += found[0].size
            return found

        def track_lookup(self, hashes: Any, tracks: Any) -> Any:  # the second pass and the neighbour step
            started = time.process_time()
            found = super().track_lookup(hashes, tracks)
            CountingIndex.lookup_cpu_s += time.process_time() - started
            CountingIndex.shortlist_votes += found[0].size
            return found

    refs = _chunk_refs(day, chunks_csv)
    started = time.process_time()
    result = match_chunks(refs, CountingIndex.open(_index_dir(n)))
    cpu = time.process_time() - started
    if not day:
        name = "detections.parquet" if chunks_csv is None else f"detections-{chunks_csv.stem}.parquet"
        result.detections.write_parquet(_index_dir(n) / name)
    summary = {
        "chunks": len(refs),
        "match_cpu_s": cpu,
        "lookup_cpu_s": CountingIndex.lookup_cpu_s,
        "votes_per_chunk": CountingIndex.votes / len(refs),
        "shortlist_votes_per_chunk": CountingIndex.shortlist_votes / len(refs),
        "detections": result.detections.height,
        "vote_budget": audio.matcher.CHUNK_VOTE_BUDGET,
        "shortlist_tracks": audio.matcher.SHORTLIST_TRACKS,
    }
    print(json.dumps(summary))


def measured(args: list[str]) -> dict[str, Any]:
    """Run a stage of this script as a child: its JSON line, plus wall, CPU and peak RSS from ``os.wait4``."""
    log = SCALE / f"stage-{_slug('-'.join(Path(a).stem for a in args[1:]))}.log"
    began = time.perf_counter()
    with open(log, "w") as handle:
        proc = subprocess.Popen([sys.executable, __file__, *args], stdout=handle, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - began
    text = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"stage {args} failed:\n{text[-3000:]}")
    result = json.loads(text.strip().splitlines()[-1])
    return {**result, "wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


def _dir_bytes(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def _save(path: Path, new: dict[str, Any]) -> dict[str, Any]:
    """Merge ``new`` into the results file (re-read first: runs of other sizes may have written meanwhile)."""
    results = {**(json.loads(path.read_text()) if path.exists() else {}), **new}
    path.write_text(json.dumps(results, indent=2))
    return results


def _result_key(n: int, vote_budget: int | None, shortlist: int | None = None) -> str:
    key = str(n) if vote_budget is None else f"{n}/budget-{vote_budget}"
    return key if shortlist is None else f"{key}/shortlist-{shortlist}"


def newer_profiles(n: int, work: Path, budget_args: list[str], durations: dict[str, float]) -> dict[str, Any]:
    """The tempo and off-air chunks of an airplay-19 run (``run.py``'s ``backbeat/chunks_<profile>.csv``, those
    there are) matched against the index of ``n`` tracks, which holds their catalog, and scored per profile as
    ``run.py`` scores them (the chunks are matched per profile, as ``run.py`` groups them)."""
    from metrics import evaluate

    from audio.plays import MAX_GAP_S, merge_detections
    from backbeat.scoring import read_ground_truth

    truth = read_ground_truth(work / "truth.csv").with_columns(
        pl.col("speed").cast(pl.Float64), pl.col("tempo").cast(pl.Float64)
    )
    stations = pl.read_csv(work / "stations.csv")
    scored: dict[str, Any] = {}
    for profile in ("tempo", "offair"):
        chunks_csv = work / "backbeat" / f"chunks_{profile}.csv"
        if not chunks_csv.is_file():  # a simulation of one of the two only (e.g. --profiles offair)
            continue
        match = measured(["--stage", "match", "--size", str(n), "--chunks-csv", str(chunks_csv), *budget_args])
        detections = pl.read_parquet(_index_dir(n) / f"detections-{chunks_csv.stem}.parquet")
        plays = merge_detections(detections, min_play_s=30.0, track_durations_s=durations, max_gap_s=MAX_GAP_S)
        score = evaluate(plays, truth, stations)[profile]
        scored[profile] = {
            "found": score["found"],
            "truth_plays": score["truth_plays"],
            "false_plays": score["false_plays"],
            "median_start_error_s": score["median_start_error_s"],
            "match_ms_per_chunk": 1000 * match["match_cpu_s"] / match["chunks"],
        }
        print(json.dumps({"tracks": n, "profile": profile, **scored[profile]}), flush=True)
    return scored


def run(
    sizes: list[int],
    day_size: int | None,
    vote_budget: int | None,
    keep_index: bool,
    newer: Path | None = None,
    shortlist: int | None = None,
) -> None:
    from metrics import evaluate

    from audio.index import POSTINGS_DIR
    from audio.plays import merge_detections
    from backbeat.airplay.landing import parse_chunk_name
    from backbeat.scoring import read_ground_truth

    with open(SCALE / "chunks.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["chunk_id", "station_id", "start_utc", "path"])
        for path in sorted((SCALE / "chunks").glob("*.mp3")):
            chunk = parse_chunk_name(path)
            writer.writerow([chunk.chunk_id, chunk.station_id, chunk.start_utc.isoformat(), str(path)])
    truth = read_ground_truth(SCALE / "truth.csv").with_columns(pl.col("speed").cast(pl.Float64))
    stations = pl.read_csv(SCALE / "stations.csv")
    results_path = SCALE / "results.json"
    results: dict[str, Any] = json.loads(results_path.read_text()) if results_path.exists() else {}
    budget_args = [] if vote_budget is None else ["--vote-budget", str(vote_budget)]
    budget_args += [] if shortlist is None else ["--shortlist", str(shortlist)]
    for n in sizes:  # an empty list: only the station-day check
        rows = _rows(n)
        key = _result_key(n, vote_budget, shortlist)
        built = results.get(key) or results.get(str(n))  # an earlier run at this size, with or without budget
        reuse = keep_index and built is not None and (_index_dir(n) / "rows.parquet").exists()
        if reuse and pl.read_parquet(_index_dir(n) / "rows.parquet").equals(rows):
            build = built["build"]  # the same index, built (and measured) by that run
        else:
            shutil.rmtree(_index_dir(n), ignore_errors=True)
            (_index_dir(n) / "tracks").mkdir(parents=True)
            rows.write_parquet(_index_dir(n) / "rows.parquet")
            build = measured(["--stage", "write-index", "--size", str(n)])
        match = measured(["--stage", "match", "--size", str(n), *budget_args])
        detections = pl.read_parquet(_index_dir(n) / "detections.parquet")
        durations = dict(zip(rows["track_id"], rows["duration_s"], strict=True))
        plays = merge_detections(detections, min_play_s=30.0, track_durations_s=durations)
        scores = evaluate(plays, truth, stations)["overall"]
        results[key] = {
            "tracks": n,
            "vote_budget": match["vote_budget"],
            "shortlist_tracks": match["shortlist_tracks"],
            "real_tracks": int(rows["track_id"].str.starts_with("synthetic/").not_().sum()),
            "synthetic_tracks": int(rows["track_id"].str.starts_with("synthetic/").sum()),
            "reference_hours": float(rows["duration_s"].sum()) / 3600,
            "n_hashes": int(rows["n_hashes"].sum()),
            "postings_bytes": _dir_bytes(_index_dir(n) / POSTINGS_DIR),
            "track_cache_bytes": _dir_bytes(_index_dir(n) / "tracks"),
            "build": build,
            "match": match,
            "match_ms_per_chunk": 1000 * match["match_cpu_s"] / match["chunks"],
            "stage_ms_per_chunk": 1000 * match["cpu_s"] / match["chunks"],
            "false_plays": scores["false_plays"],
            "false_plays_per_station_hour": scores["false_plays_per_hour"],
            "recall": scores["recall"],
            "station_hours": scores["station_hours"],
        }
        if newer is not None:
            results[key]["newer_profiles"] = newer_profiles(n, newer, budget_args, durations)
        print(json.dumps(results[key]), flush=True)
        results = _save(results_path, {key: results[key]})
    if day_size:
        day = measured(["--stage", "match", "--size", str(day_size), "--day", *budget_args])
        key = f"station_day_{_result_key(day_size, vote_budget, shortlist)}"
        print(json.dumps({"tracks": day_size, **day}), flush=True)
        results = _save(results_path, {key: {"tracks": day_size, **day}})
    print_table(results)


def print_table(results: dict[str, Any]) -> None:
    sizes = sorted(
        (v for k, v in results.items() if not k.startswith("station_day")),
        key=lambda v: (v["tracks"], v.get("vote_budget") or 0, v.get("shortlist_tracks") or 0),
    )
    base = sizes[0]["match_ms_per_chunk"] if sizes else 0.0
    print(
        "| tracks (real + synthetic) | vote budget / shortlist | reference h | hashes | postings MiB | build CPU s "
        "| match CPU ms / chunk | × smallest | votes / chunk | match peak RSS MiB | false plays / station-h | recall |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for v in sizes:
        budget = f"{v['vote_budget']:,}" if v.get("vote_budget") else "–"
        budget += f" / {v['shortlist_tracks']}" if v.get("shortlist_tracks") is not None else ""
        print(
            f"| {v['tracks']:,} ({v['real_tracks']} + {v['synthetic_tracks']:,}) | {budget} | "
            f"{v['reference_hours']:.0f} | "
            f"{v['n_hashes'] / 1e6:.1f} M | {v['postings_bytes'] / 2**20:,.0f} | {v['build']['cpu_s']:.1f} | "
            f"{v['match_ms_per_chunk']:.1f} | {v['match_ms_per_chunk'] / base:.2f} | "
            f"{v['match']['votes_per_chunk']:,.0f} | {v['match']['peak_rss_mib']:.0f} | "
            f"{v['false_plays_per_station_hour']:.3f} ({v['false_plays']} in {v['station_hours']:g} h) | "
            f"{v['recall']:.1%} |"
        )
    for v in sizes:
        for profile, score in v.get("newer_profiles", {}).items():
            print(
                f"{v['tracks']:,} tracks, budget {v.get('vote_budget') or '–'}, {profile}: "
                f"{score['found']}/{score['truth_plays']} plays, {score['false_plays']} false, "
                f"{score['match_ms_per_chunk']:.1f} ms per chunk"
            )
    for key in sorted((k for k in results if k.startswith("station_day")), key=lambda k: results[k]["tracks"]):
        d = results[key]
        print(
            f"\nstation-day at {d['tracks']:,} tracks ({key}): {d['chunks']} chunks in one call, "
            f"{d['cpu_s']:.0f} CPU-s "
            f"({1000 * d['match_cpu_s'] / d['chunks']:.0f} ms per chunk), peak RSS {d['peak_rss_mib']:.0f} MiB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["prepare", "run", "table"])
    parser.add_argument("--synthetic", type=int, default=10_000, help="synthetic tracks to prepare")
    parser.add_argument("--workers", type=int, default=2, help="processes generating synthetic tracks")
    parser.add_argument("--only", choices=["real", "synthetic"], help="prepare one cache only")
    parser.add_argument("--reverse", action="store_true", help="take synthetic blocks from the last one")
    parser.add_argument("--sizes", type=int, nargs="*", default=[50, 500, 2_000, 10_000])
    parser.add_argument(
        "--day-size",
        type=int,
        default=None,
        help="catalog size of the station-day check (default: the largest; 0: none)",
    )
    parser.add_argument(
        "--vote-budget",
        type=int,
        default=None,
        help="votes one chunk may draw (audio.matcher.CHUNK_VOTE_BUDGET; 0: none; default: the matcher's)",
    )
    parser.add_argument(
        "--shortlist",
        type=int,
        default=None,
        help="tracks voted again with all their hashes when the budget binds (audio.matcher.SHORTLIST_TRACKS)",
    )
    parser.add_argument("--keep-index", action="store_true", help="reuse an index built for the same tracks")
    parser.add_argument(
        "--newer-profiles",
        type=Path,
        help="an airplay-19 work directory (run.py run on it): also match and score its tempo and off-air chunks",
    )
    parser.add_argument("--chunks-csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--stage", choices=["write-index", "match"], help=argparse.SUPPRESS)
    parser.add_argument("--size", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--day", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "write-index":
        return stage_write_index(args.size)
    if args.stage == "match":
        return stage_match(args.size, args.day, args.vote_budget, args.shortlist, args.chunks_csv)
    if args.command == "prepare":
        return prepare(args.synthetic, args.workers, args.only, args.reverse)
    if args.command == "run":
        day_size = max(args.sizes, default=0) if args.day_size is None else args.day_size
        return run(args.sizes, day_size, args.vote_budget, args.keep_index, args.newer_profiles, args.shortlist)
    if args.command == "table":
        return print_table(json.loads((SCALE / "results.json").read_text()))
    parser.print_help()


if __name__ == "__main__":
    main()
