"""Two revisions of the audio engine on the same chunks, alternated in one sitting: how much of a throughput
change is the engine and how much the host.

    nice -n 5 .venv/bin/python bench/airplay/compare_engines.py --rev 9750f97 --rounds 3

This machine is a shared virtual machine whose CPU-seconds buy more or less from one evening to the next (the
first airplay engine, unchanged, measured 1,116 audio-s per CPU-s on 2026-11-22 and 643–695 on 2026-12-06). A
figure from another sitting therefore says little about an engine change; this script measures both engines back
to back instead. It checks ``--rev`` out under ``bench/.work/engines/<rev>/`` (a local clone of this
repository), builds each engine's own index of the catalog from cold, then matches the same chunk list
(``chunks_<group>.csv``, written by ``run.py``) with the other engine and the working tree's in turn, ``--rounds``
times. Every stage is a child process whose ``PYTHONPATH`` is that engine's tree, timed by the kernel
(``os.wait4``: user + system CPU, peak RSS) as ``run.py`` times its stages. Results: a table on stdout and
``<work>/engines.json``.

Only ``audio.index.build_index``, ``FingerprintIndex.open``, ``ChunkRef`` and ``match_chunks`` are used, so any
revision since the first airplay benchmark (issue 3) can be compared.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from chunk_lists import CHUNK_S, catalog_csv, chunk_refs_csv  # noqa: E402

REPO = Path(__file__).resolve().parents[2]


# Stages, run in children whose PYTHONPATH is one engine's tree: they import nothing of this repository but `audio`.


def stage_index(catalog: Path, index_dir: Path) -> None:
    import shutil

    from audio.index import build_index

    if index_dir.exists():
        shutil.rmtree(index_dir)  # cold: an incremental rebuild would hide the cost
    report = build_index(catalog_csv(catalog), index_dir)
    if report.failures:
        raise SystemExit(f"catalog files failed to index: {report.failures}")


def stage_match(chunks: Path, index_dir: Path, batch_size: int, out: Path) -> None:
    import audio
    from audio.index import FingerprintIndex
    from audio.matcher import match_chunks

    result = match_chunks(chunk_refs_csv(chunks), FingerprintIndex.open(index_dir), batch_size=batch_size)
    if result.failures:
        raise SystemExit(f"chunks failed to decode: {result.failures[:5]}")
    out.write_text(json.dumps({"detections": result.detections.height, "engine_path": audio.__file__}))


# The parent.


def checkout(rev: str, engines: Path) -> Path:
    """A clone of this repository at ``rev`` (made once, then reused)."""
    tree = engines / rev
    if not (tree / "audio").is_dir():
        engines.mkdir(parents=True, exist_ok=True)
        subprocess.run(["git", "clone", "-q", "--no-checkout", str(REPO), str(tree)], check=True)
        subprocess.run(["git", "-C", str(tree), "checkout", "-q", rev], check=True)
    return tree


def run_stage(tree: Path, args: list[str], log: Path) -> dict:
    """One stage in a child on ``tree``'s engine; its kernel-measured cost."""
    from run import measured  # the parent only: run.py's imports would be charged to the children

    env = {**os.environ, "PYTHONPATH": str(tree)}
    return measured([sys.executable, str(Path(__file__).resolve()), *args], log, env=env)


def per_chunk(cost: dict, n_chunks: int) -> dict:
    return {
        **cost,
        "audio_s_per_cpu_s": n_chunks * CHUNK_S / cost["cpu_s"],
        "ms_per_chunk": cost["cpu_s"] / n_chunks * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rev", default="9750f97", help="the other engine's revision (default: issue 3's run)")
    parser.add_argument("--work", type=Path, default=REPO / "bench" / ".work" / "airplay-19")
    parser.add_argument("--group", default="clean+fm+hard", help="which chunks_<group>.csv of run.py to match")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--stage", choices=["index", "match"], help=argparse.SUPPRESS)
    parser.add_argument("--catalog", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--chunks", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--index", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage == "index":
        return stage_index(args.catalog, args.index)
    if args.stage == "match":
        return stage_match(args.chunks, args.index, args.batch_size, args.out)

    chunks = args.work / "backbeat" / f"chunks_{args.group}.csv"
    if not chunks.is_file():
        raise SystemExit(f"{chunks} not found: run run.py on {args.work} first")
    with open(chunks, newline="") as handle:
        n_chunks = sum(1 for _ in csv.DictReader(handle))
    engines_dir = REPO / "bench" / ".work" / "engines"
    trees = {args.rev: checkout(args.rev, engines_dir), "working tree": REPO}
    scratch = {name: engines_dir / ("current" if name == "working tree" else f"{name}-run") for name in trees}
    results: dict = {"rev": args.rev, "chunks": n_chunks, "group": args.group, "index": {}, "rounds": []}
    for name, tree in trees.items():
        scratch[name].mkdir(parents=True, exist_ok=True)
        index_args = ["--stage", "index", "--catalog", str(args.work / "catalog.csv")]
        cost = run_stage(tree, [*index_args, "--index", str(scratch[name] / "index")], scratch[name] / "index.log")
        results["index"][name] = cost
        print(f"index  {name:>14}: {cost['cpu_s']:6.1f} CPU-s, peak {cost['peak_rss_mib']:.0f} MiB", flush=True)
    for round_no in range(1, args.rounds + 1):
        for name, tree in trees.items():
            out = scratch[name] / "match.json"
            match_args = ["--stage", "match", "--chunks", str(chunks), "--index", str(scratch[name] / "index")]
            match_args += ["--batch-size", str(args.batch_size), "--out", str(out)]
            cost = per_chunk(run_stage(tree, match_args, scratch[name] / "match.log"), n_chunks)
            cost.update(json.loads(out.read_text()), engine=name, round=round_no)
            if not Path(cost["engine_path"]).resolve().is_relative_to(tree.resolve()):
                raise SystemExit(f"{name}: the child imported {cost['engine_path']}, not {tree}'s engine")
            results["rounds"].append(cost)
            print(
                f"round {round_no} {name:>14}: {cost['cpu_s']:6.1f} CPU-s, {cost['ms_per_chunk']:5.1f} ms per chunk, "
                f"{cost['audio_s_per_cpu_s']:6.0f} audio-s per CPU-s, peak {cost['peak_rss_mib']:.0f} MiB, "
                f"{cost['detections']} detections",
                flush=True,
            )
    medians = {name: statistics.median(r["cpu_s"] for r in results["rounds"] if r["engine"] == name) for name in trees}
    results["median_cpu_s"] = medians
    print(f"\n{n_chunks} chunks ({args.group}), median of {args.rounds} rounds:")
    for name, cpu_s in medians.items():
        print(f"  {name:>14}: {cpu_s:6.1f} CPU-s, {n_chunks * CHUNK_S / cpu_s:6.0f} audio-s per CPU-s")
    print(f"  working tree / {args.rev}: {medians['working tree'] / medians[args.rev]:.2f} of the CPU")
    (args.work / "engines.json").write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
