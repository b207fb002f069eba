"""The same station-day backfill on 1 and on 2 celery workers: wall time ratio and per-station-day cost.

    .venv/bin/python bench/scale/run.py [--stations-days 16] [--minutes 12]

For each worker count: a throwaway PostgreSQL (Dagster instance, warehouse, celery broker and results), demo data
(2 stations × `--minutes` of radio on 2026-11-02, copied to consecutive days until there are `--station-days`),
the reference data materialized, then the backfill launched as production launches it (one run per shard over
its days, here one station per shard, each in its own run-worker process, `max_concurrent_runs` 2) on
`BACKBEAT_EXECUTOR=celery`.
Timed: the backfill only (workers already up, reference data already there). CPU: the celery workers' processes
(while the backfill runs) plus the run workers (whole life: each run pays its start-up).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from celery_workers import CeleryWorkers  # noqa: E402
from distributed_backfill import (  # noqa: E402
    backbeat_env,
    backbeat_environment,
    copy_station_day,
    launch_backfill,
    ledger_rows,
    materialize_reference,
)
from embedded_pg import EmbeddedPostgres  # noqa: E402

from backbeat.demo import generate_demo  # noqa: E402
from backbeat.settings import REPO_ROOT  # noqa: E402

STATIONS = ("radio-north", "radio-south")
FIRST_DAY = date(2026, 11, 2)


def tree_cpu(pids: list[int]) -> float:
    """User + system CPU seconds of these processes and their children, now."""
    total = 0.0
    for pid in pids:
        try:
            root = psutil.Process(pid)
            for process in [root, *root.children(recursive=True)]:
                times = process.cpu_times()
                total += times.user + times.system
        except psutil.NoSuchProcess:
            continue
    return total


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(workers: int, template: Path, station_days: list[tuple[str, date]], work: Path) -> dict[str, float]:
    data_dir = work / "data"
    shutil.copytree(template, data_dir)
    with EmbeddedPostgres() as pg:
        broker = pg.create_database("broker")
        extra = {
            "BACKBEAT_EXECUTOR": "celery",
            "BACKBEAT_CELERY_BROKER": f"sqla+{broker}",
            "BACKBEAT_CELERY_BACKEND": f"db+{broker}",
        }
        env = backbeat_environment(pg, "warehouse", "dagster", data_dir, work / "home", extra)
        with CeleryWorkers(workers, env, cwd=REPO_ROOT, log_dir=work / "workers") as cluster, backbeat_env(env):
            materialize_reference(env)
            worker_pids = cluster.pids
            cpu_workers, cpu_children = tree_cpu(worker_pids), children_cpu()
            began = time.monotonic()
            launch_backfill(env, station_days, concurrent=2)
            wall = time.monotonic() - began
            cpu_workers = tree_cpu(worker_pids) - cpu_workers
            cpu_runs = children_cpu() - cpu_children
            lines = len(ledger_rows(env["BACKBEAT_WAREHOUSE_URL"]))
    return {"wall": wall, "cpu_workers": cpu_workers, "cpu_runs": cpu_runs, "ledger_lines": lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--station-days", type=int, default=16)
    parser.add_argument("--minutes", type=int, default=12, help="minutes of radio per station-day")
    args = parser.parse_args()
    days = [FIRST_DAY + timedelta(days=i) for i in range(-(-args.station_days // len(STATIONS)))]
    station_days = [(s, d) for d in days for s in STATIONS][: args.station_days]
    load = os.getloadavg()
    print(
        f"{args.station_days} station-days ({len(STATIONS)} stations × {len(days)} days, {args.minutes} min of radio "
        f"each), {os.cpu_count()} cores, load average at start {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )
    with tempfile.TemporaryDirectory(prefix="backbeat-scale-") as tmp:
        template = Path(tmp) / "template"
        generate_demo(template, minutes_per_station=args.minutes, n_artists=8, n_tracks=14, tracks_with_audio=8)
        for station, day in station_days:
            copy_station_day(template / "landing", station, day)
        results = {n: measure(n, template, station_days, Path(tmp) / f"w{n}") for n in (1, 2)}
    n = len(station_days)
    print(
        f"{'workers':>7} {'wall s':>7} {'CPU s workers':>13} {'CPU s run workers':>17} "
        f"{'wall s / station-day':>20} {'CPU s / station-day':>19} {'ledger lines':>12}"
    )
    for workers, r in results.items():
        cpu = r["cpu_workers"] + r["cpu_runs"]
        print(
            f"{workers:>7} {r['wall']:>7.1f} {r['cpu_workers']:>13.1f} {r['cpu_runs']:>17.1f} "
            f"{r['wall'] / n:>20.2f} {cpu / n:>19.2f} {int(r['ledger_lines']):>12}"
        )
    ratio = results[1]["wall"] / results[2]["wall"]
    per_day_cpu = (results[2]["cpu_workers"] + results[2]["cpu_runs"]) / n
    print(f"wall time 1 worker / 2 workers: {ratio:.2f}")
    print(
        f"1,000 stations: {per_day_cpu * 1000 / 3600:.1f} CPU-hours per day of station-days like these "
        f"(~{per_day_cpu * 1000 / 86400:.2f} cores busy all day), before scaling the audio part to 24 h of radio"
    )
    print(f"load average at end {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
