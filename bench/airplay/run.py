"""Index the catalog and match the simulated radio with Backbeat and (optionally) audfprint, then score both.

    .venv/bin/python bench/airplay/run.py --audfprint /work/peers/audfprint/audfprint.py

Reads what ``simulate.py`` wrote under ``bench/.work/airplay/``. Every indexing and matching stage runs in its
own child process, so its wall time, CPU time (user + system, ffmpeg children included) and peak RSS are that
stage's alone (``os.wait4``). Each engine's per-chunk matches become plays through the same ``merge_detections``
(≥ 30 s, given the catalog's track durations as the playlogs asset is) and are scored with the same rules
(``metrics.py``). One table per profile is printed and everything lands in ``bench/.work/airplay/results.json``.
Matching runs once per group of profiles (``--match-groups``; by default the three original profiles together
and each newer profile alone), so a profile whose chunks cost more to decode (AAC captures go through an ffmpeg
child) does not blur the original profiles' throughput. ``--rescore`` merges and scores the last run's
detections again (after a change to the merge), into ``rescored.json``, without indexing, matching or timing
anything.
"""

from __future__ import annotations

import argparse
import csv
import functools
import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import polars as pl
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chunk_lists import CHUNK_S, catalog_csv, chunk_refs_csv  # noqa: E402
from debmusic import AIRPLAY  # noqa: E402

# The measured stages run in children of this script: anything imported at module level is charged to
# them. The Dagster assets (chunk-name parsing), the scoring and the peer's helpers take ~3 CPU-s to import
# and are only needed by the parent, so they are imported where the parent uses them.


def _catalog(work: Path) -> list[tuple[str, Path]]:
    return catalog_csv(work / "catalog.csv")


def _track_durations(work: Path) -> dict[str, float]:
    """Seconds per catalog track, what the playlogs asset reads from the catalog's ``duration_ms``."""
    return {track_id: sf.info(str(path)).duration for track_id, path in _catalog(work)}


CHUNK_SUFFIXES = (".mp3", ".m4a")
# The profiles of the first airplay benchmark (issue 3): matched as one group, as their figures were measured.
ORIGINAL_PROFILES = ("clean", "fm", "hard")


def _chunk_paths(work: Path, stations: set[str] | None = None) -> list[Path]:
    """The chunks (MP3, or AAC in .m4a for off-air captures), of the given stations only when given."""
    paths = sorted(p for p in (work / "chunks").iterdir() if p.suffix in CHUNK_SUFFIXES)
    if stations is None:
        return paths
    return [p for p in paths if p.name.rpartition("_")[0] in stations]


def match_groups(profiles: list[str], spec: str | None) -> list[list[str]]:
    """Profiles matched together: ``spec`` like "clean,fm,hard;tempo;offair", or by default the original
    profiles in one group and every other profile alone; only profiles present in the data."""
    if spec:
        groups = [[p for p in group.split(",") if p in profiles] for group in spec.split(";")]
    else:
        groups = [[p for p in profiles if p in ORIGINAL_PROFILES]]
        groups += [[p] for p in profiles if p not in ORIGINAL_PROFILES]
    return [group for group in groups if group]


def _group_name(group: list[str]) -> str:
    return "+".join(group)


def measured(cmd: list[str], log: Path, env: dict[str, str] | None = None) -> dict:
    """Run one stage as a child; its wall and CPU seconds and peak RSS, from the kernel's accounting."""
    began = time.perf_counter()
    with open(log, "w") as handle:
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"stage failed ({proc.returncode}): {' '.join(cmd)}\n{log.read_text()[-3000:]}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mib": usage.ru_maxrss / 1024}


# Stages run inside the child processes.


def stage_backbeat_index(work: Path) -> None:
    from audio.index import build_index

    index_dir = work / "backbeat" / "index"
    if index_dir.exists():
        shutil.rmtree(index_dir)  # a cold build: the incremental cache would hide the cost
    report = build_index(_catalog(work), index_dir)
    if report.failures:
        raise SystemExit(f"catalog files failed to index: {report.failures}")
    summary = {
        "tracks": report.tracks_total,
        "reference_s": report.reference_seconds,
        "n_hashes": report.n_hashes,
        "index_bytes": report.index_bytes,
    }
    (work / "backbeat" / "index_report.json").write_text(json.dumps(summary, indent=2))


def stage_backbeat_match(work: Path, batch_size: int, group: str) -> None:
    from audio.index import FingerprintIndex
    from audio.matcher import match_chunks

    refs = chunk_refs_csv(work / "backbeat" / f"chunks_{group}.csv")
    result = match_chunks(refs, FingerprintIndex.open(work / "backbeat" / "index"), batch_size=batch_size)
    if result.failures:
        raise SystemExit(f"chunks failed to decode: {result.failures[:5]}")
    result.detections.write_parquet(work / "backbeat" / f"detections_{group}.parquet")


def _summed(costs: dict[str, dict]) -> dict:
    """One stage's cost over the match groups: seconds added up, the highest peak."""
    return {
        "wall_s": sum(c["wall_s"] for c in costs.values()),
        "cpu_s": sum(c["cpu_s"] for c in costs.values()),
        "peak_rss_mib": max(c["peak_rss_mib"] for c in costs.values()),
    }


# The parent: run both engines' stages, merge, score, print.


def run_backbeat(work: Path, batch_size: int, groups: dict[str, set[str]]) -> tuple[dict, pl.DataFrame]:
    """Index, then match each group of stations (``groups``: name → station ids) in its own child."""
    # Chunk names are parsed here, so the measured match stage imports only `audio` (not the Dagster assets).
    from backbeat.airplay.landing import parse_chunk_name

    (work / "backbeat").mkdir(parents=True, exist_ok=True)
    me = [sys.executable, str(Path(__file__).resolve()), "--work", str(work)]
    index = measured([*me, "--stage", "backbeat-index"], work / "backbeat" / "index.log")
    index.update(json.loads((work / "backbeat" / "index_report.json").read_text()))
    costs, detections = {}, []
    for name, stations in groups.items():
        with open(work / "backbeat" / f"chunks_{name}.csv", "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["chunk_id", "station_id", "start_utc", "path"])
            for path in _chunk_paths(work, stations):
                chunk = parse_chunk_name(path)
                writer.writerow([chunk.chunk_id, chunk.station_id, chunk.start_utc.isoformat(), str(path)])
        costs[name] = measured(
            [*me, "--stage", "backbeat-match", "--batch-size", str(batch_size), "--group", name],
            work / "backbeat" / f"match_{name}.log",
        )
        costs[name]["chunks"] = len(_chunk_paths(work, stations))
        detections.append(pl.read_parquet(work / "backbeat" / f"detections_{name}.parquet"))
    merged = pl.concat(detections)
    merged.write_parquet(work / "backbeat" / "detections.parquet")
    return {"index": index, "match": _summed(costs), "match_groups": costs}, merged


def run_audfprint(
    work: Path,
    audfprint: Path,
    pythonpath: str | None,
    cores: int,
    name: str,
    extra: list[str],
    groups: dict[str, set[str]],
) -> tuple[dict, pl.DataFrame]:
    import audfprint_peer

    out = work / name
    if out.exists():
        shutil.rmtree(out)
    (out / "bin").mkdir(parents=True)
    # audfprint reads audio through an `ffmpeg` on PATH: give it the same binary Backbeat uses.
    (out / "bin" / "ffmpeg").symlink_to(imageio_ffmpeg.get_ffmpeg_exe())
    env = {**os.environ, "PATH": f"{out / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    # The catalog goes to the peer as WAV decoded by libsndfile, as Backbeat reads it: the static ffmpeg
    # rejects three of the hyperrogue .ogg files ("Header processing failed"), which audfprint would skip.
    (out / "ref").mkdir()
    catalog = []
    for track_id, path in _catalog(work):
        wav = out / "ref" / (track_id.replace("/", "__") + ".wav")
        samples, rate = sf.read(str(path), dtype="int16")
        sf.write(str(wav), samples, rate, subtype="PCM_16")
        catalog.append((track_id, wav))
    (out / "catalog.txt").write_text("".join(f"{path}\n" for _, path in catalog))
    db = out / "db.pklz"
    index = measured(
        [*audfprint_peer.index_command(sys.executable, audfprint, db, out / "catalog.txt"), *extra],
        out / "index.log",
        env,
    )
    skipped = (out / "index.log").read_text().count("Error reading")
    index.update({"tracks": len(catalog) - skipped, "skipped_files": skipped, "index_bytes": db.stat().st_size})
    costs, detections = {}, []
    track_of_path = {str(path): track for track, path in catalog}
    for group, stations in groups.items():
        chunk_list, matches = out / f"chunks_{group}.txt", out / f"matches_{group}.txt"
        chunk_list.write_text("".join(f"{path}\n" for path in _chunk_paths(work, stations)))
        costs[group] = measured(
            [*audfprint_peer.match_command(sys.executable, audfprint, db, chunk_list, matches, cores), *extra],
            out / f"match_{group}.log",
            env,
        )
        costs[group]["chunks"] = len(_chunk_paths(work, stations))
        detections.append(audfprint_peer.detections_from_output(matches.read_text(), track_of_path))
    merged = pl.concat(detections)
    merged.write_parquet(out / "detections.parquet")
    match = {**_summed(costs), "cores": cores, "extra_args": extra}
    return {"index": index, "match": match, "match_groups": costs}, merged


def _fmt(value, pattern: str) -> str:
    return "–" if value is None else pattern.format(value)


def _last_detections(folder: Path) -> tuple[dict, pl.DataFrame]:
    """An engine's detections as its last full run wrote them, with no cost measured."""
    return {}, pl.read_parquet(folder / "detections.parquet")


def print_tables(results: dict, profiles: list[str], cost: bool = True) -> None:
    for profile in [*profiles, "overall"]:
        any_scores = next(iter(results["engines"].values()))["scores"][profile]
        print(
            f"\n### {profile}: {any_scores['station_hours']:g} station-hours, {any_scores['truth_plays']} "
            f"plays ≥ 30 s, {any_scores['speed_truth_plays']} of them speed-changed, "
            f"{any_scores['tempo_truth_plays']} tempo-changed"
        )
        print(
            "| engine | recall | recall, speed-changed | recall, tempo-changed | precision | false plays / h "
            "| median start error s (heard / aired) | duplicate plays | overlapping plays (s) |"
        )
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for engine, data in results["engines"].items():
            s = data["scores"][profile]
            print(
                f"| {engine} | {s['recall']:.1%} ({s['found']}/{s['truth_plays']}) | "
                f"{_fmt(s['speed_recall'], '{:.1%}')} ({s['speed_found']}/{s['speed_truth_plays']}) | "
                f"{_fmt(s['tempo_recall'], '{:.1%}')} ({s['tempo_found']}/{s['tempo_truth_plays']}) | "
                f"{s['precision']:.1%} | {s['false_plays_per_hour']:.2f} | "
                f"{_fmt(s['median_start_error_s'], '{:.2f}')} / "
                f"{_fmt(s.get('median_aired_start_error_s'), '{:.2f}')} | {s['duplicate_plays']} | "
                f"{s['overlapping_plays']} ({s['overlapping_seconds']:g}) |"
            )
    if not cost:
        return
    audio_s = results["dataset"]["chunks"] * CHUNK_S
    print(
        f"\n### cost (indexing {results['dataset']['catalog_tracks']} tracks / "
        f"{results['dataset']['catalog_minutes']:.0f} min; matching {results['dataset']['chunks']} chunks / "
        f"{audio_s / 3600:g} h, one child per group of profiles)"
    )
    print(
        "| engine | profiles | index wall s | index CPU s | index peak MiB | chunks | match wall s | match CPU s "
        "| match peak MiB | audio-s per CPU-s |"
    )
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for engine, data in results["engines"].items():
        i = data["index"]
        for group, m in data["match_groups"].items():
            print(
                f"| {engine} | {group} | {i['wall_s']:.1f} | {i['cpu_s']:.1f} | {i['peak_rss_mib']:.0f} | "
                f"{m['chunks']} | {m['wall_s']:.1f} | {m['cpu_s']:.1f} | {m['peak_rss_mib']:.0f} | "
                f"{m['chunks'] * CHUNK_S / m['cpu_s']:.0f} |"
            )
    engines = list(results["engines"].values())
    for group in engines[0]["match_groups"]:
        rates = [e["match_groups"][group]["chunks"] * CHUNK_S / e["match_groups"][group]["cpu_s"] for e in engines]
        if len(rates) > 1:
            print(f"{group}: Backbeat matches {rates[0] / rates[1]:.1f}x the peer's audio-s per CPU-s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", type=Path, default=AIRPLAY)
    parser.add_argument("--audfprint", type=Path, help="path to a checkout's audfprint.py (kept outside the repo)")
    parser.add_argument("--peer-pythonpath", help="PYTHONPATH for the peer's own dependencies (docopt)")
    parser.add_argument("--peer-cores", type=int, default=1, help="audfprint --ncores for matching")
    parser.add_argument(
        "--peer-variant",
        action="append",
        default=[],
        metavar="NAME=ARGS",
        help='another audfprint run with extra options for both stages, e.g. "audfprint-s4=--shifts 4"',
    )
    parser.add_argument("--batch-size", type=int, default=32, help="Backbeat match_chunks batch size")
    parser.add_argument(
        "--match-groups",
        help='profiles matched (and timed) together, e.g. "clean,fm,hard;tempo;offair" (the default: the '
        "original three together, every other profile alone)",
    )
    parser.add_argument("--group", help=argparse.SUPPRESS)
    parser.add_argument(
        "--rescore",
        action="store_true",
        help="merge and score the detections of the last run again (after a change to the merge); "
        "nothing is indexed, matched or timed",
    )
    parser.add_argument("--stage", choices=["backbeat-index", "backbeat-match"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    work: Path = args.work

    if args.stage == "backbeat-index":
        return stage_backbeat_index(work)
    if args.stage == "backbeat-match":
        return stage_backbeat_match(work, args.batch_size, args.group)
    from metrics import evaluate

    from audio.plays import merge_detections
    from backbeat.scoring import read_ground_truth

    truth = read_ground_truth(work / "truth.csv")
    if "tempo" not in truth.columns:  # a simulation from before the tempo profile
        truth = truth.with_columns(tempo=pl.lit(1.0))
    truth = truth.with_columns(pl.col("speed").cast(pl.Float64), pl.col("tempo").cast(pl.Float64))
    stations = pl.read_csv(work / "stations.csv")
    profiles = stations["profile"].unique(maintain_order=True).to_list()
    groups = {
        _group_name(group): set(stations.filter(pl.col("profile").is_in(group))["station_id"].to_list())
        for group in match_groups(profiles, args.match_groups)
    }
    durations = pl.read_csv(work / "catalog.csv")  # minutes come from the Backbeat index report below
    results: dict = {
        "dataset": {
            "catalog_tracks": durations.height,
            "stations": stations.height,
            "station_hours": float(stations["hours"].sum()),
            "chunks": len(_chunk_paths(work)),
            "chunks_per_profile": dict(stations.group_by("profile").agg(pl.col("chunks").sum()).iter_rows()),
            "catalog_plays": truth.height,
        },
        "engines": {},
    }
    engines = [("backbeat", lambda: run_backbeat(work, args.batch_size, groups))]
    if args.rescore:
        engines = [
            (name, functools.partial(_last_detections, work / name))
            for name in ("backbeat", "audfprint", *(v.partition("=")[0] for v in args.peer_variant))
            if (work / name / "detections.parquet").exists()
        ]
    elif args.audfprint:
        for variant in ["audfprint=", *args.peer_variant]:
            name, _, extra = variant.partition("=")
            engines.append(
                (
                    name,
                    functools.partial(
                        run_audfprint,
                        work,
                        args.audfprint,
                        args.peer_pythonpath,
                        args.peer_cores,
                        name,
                        shlex.split(extra),
                        groups,
                    ),
                )
            )
    track_durations = _track_durations(work)
    for name, run in engines:
        print(f"{name}: {'merging the last run' if args.rescore else 'indexing and matching'} ...", flush=True)
        cost, detections = run()
        plays = merge_detections(detections, min_play_s=30.0, track_durations_s=track_durations)
        plays.write_parquet(work / name / "plays.parquet")
        results["engines"][name] = {
            **cost,
            "detections": detections.height,
            "plays": plays.height,
            "scores": evaluate(plays, truth, stations),
        }
        if cost:
            print(f"{name}: {json.dumps(cost)}", flush=True)
    if args.rescore:
        (work / "rescored.json").write_text(json.dumps(results, indent=2, default=str))
        return print_tables(results, stations["profile"].unique(maintain_order=True).to_list(), cost=False)
    results["dataset"]["catalog_minutes"] = results["engines"]["backbeat"]["index"]["reference_s"] / 60
    (work / "results.json").write_text(json.dumps(results, indent=2, default=str))
    print_tables(results, stations["profile"].unique(maintain_order=True).to_list())


if __name__ == "__main__":
    main()
