"""Time the whole demo pipeline, job by job: `python bench/demo_pipeline.py [--minutes 120]`.

Generates the demo into a temporary directory, materializes everything through Dagster on the embedded
default (DuckDB), and prints wall time, CPU time and peak memory per stage. Run by hand, not by CI.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=int, default=120, help="minutes of radio per station")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="backbeat-bench-"))
    os.environ.update({"DAGSTER_HOME": str(work / "home"), "BACKBEAT_DATA_DIR": str(work / "data")})
    os.environ.pop("BACKBEAT_WAREHOUSE_URL", None)
    (work / "home").mkdir()
    shutil.copy(Path(__file__).parents[1] / "deploy" / "dagster.local.yaml", work / "home" / "dagster.yaml")

    from dagster import DagsterInstance

    from backbeat.demo import generate_demo
    from backbeat.pipeline import run_everything
    from backbeat.settings import Settings
    from backbeat.summary import demo_summary
    from integrations.warehouse import Warehouse
    from orchestration.definitions import build_definitions

    def cpu() -> float:
        self_usage = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return self_usage.ru_utime + self_usage.ru_stime + children.ru_utime + children.ru_stime

    marks: list[tuple[str, float, float]] = []
    started, started_cpu = time.perf_counter(), cpu()
    manifest = generate_demo(work / "data", minutes_per_station=args.minutes)
    marks.append(("generate demo data", time.perf_counter(), cpu()))

    def log(line: str) -> None:
        marks.append((line.strip().removeprefix("running "), time.perf_counter(), cpu()))

    settings = Settings.from_env()
    with DagsterInstance.get() as instance:
        run_everything(
            build_definitions(settings), instance, curation_days=[manifest.day], log=log, tool_output=work / "tools.log"
        )
    marks.append(("end", time.perf_counter(), cpu()))

    print(
        f"demo: {args.minutes} min × {len(manifest.stations)} stations, {manifest.chunks} chunks, "
        f"{manifest.tracks_with_audio} reference tracks"
    )
    print(f"{'stage':45} {'wall s':>8} {'cpu s':>8}")
    print(f"{'generate demo data':45} {marks[0][1] - started:8.1f} {marks[0][2] - started_cpu:8.1f}")
    for i in range(len(marks) - 1):
        label = "load the code location" if i == 0 else marks[i][0]
        print(f"{label:45} {marks[i + 1][1] - marks[i][1]:8.1f} {marks[i + 1][2] - marks[i][2]:8.1f}")
    total_wall, total_cpu = marks[-1][1] - started, marks[-1][2] - started_cpu
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{'total':45} {total_wall:8.1f} {total_cpu:8.1f}")
    print(f"peak memory (this process): {peak_mib:.0f} MiB; audio matched: {manifest.audio_seconds / 3600:.2f} h")
    for line in demo_summary(Warehouse(settings.warehouse_url), settings.data_dir):
        print(line)
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
