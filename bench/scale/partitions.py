"""Day × shard partitions at 1,000 stations: the UI, the sensor daemon and a backfill, measured.

    .venv/bin/python bench/scale/partitions.py [--stations 1000] [--materialized N] [--backfill-days 7]
        [--parts 1,2,3,4]

One throwaway PostgreSQL (the production Dagster instance, `deploy/dagster.postgres.yaml`, and the warehouse) and
the real code location (`workspace.yaml` → `orchestration.definitions`). The airplay and ledger assets are
partitioned by UTC day × station shard (`day_shard_partitions`: 32 static shards `s00`…`s31`, a station's shard
the SHA-256 hash of its id, `backbeat.airplay.shards`); which stations exist is the warehouse's `airplay.stations`
table. Measured, in order:

1. writing `--stations` synthetic stations (`station-0000`…, all active) into `airplay.stations`, how they spread
   over the shards (stations per shard: min, mean, max), the partition count Dagster sees per day × shard asset
   (today, and on the day the history is one year old: 32 × days, whatever the number of stations), and the time
   to list every key;
2. the asset partition page of `airplay/playlogs`: a `dagster-webserver` (own process group, stopped after)
   answering the UI's own `PartitionHealthQuery` (copied from the webserver's bundled JS) and the partition stats,
   with none and with `--materialized` partitions materialized (runless materialization events, batch-written;
   default: every partition up to the last day of the synthetic history, 2026-11-30: 334 days × 32);
3. the airplay sensor and schedule: `landing_chunks_sensor` evaluated in process with one new chunk per station
   (one run request per touched day × shard: at most 32) and with nothing new, `daily_chain_schedule` (a run per
   shard with an active station: at most 32), and one sensor-daemon iteration (`execute_sensor_iteration`, the
   daemon's own code: gRPC code server, evaluation, one queued run per request) with a new chunk at every one of
   the `--stations` stations, timed from the tick record, with its cost per queued run;
4. a backfill of `--stations` × `--backfill-days` station-days of the day × shard chain, i.e. every shard holding
   one of the stations × the days (capped at the days the history has): created through the webserver's
   `launchPartitionBackfill` mutation (what the UI's launch button sends), then the backfill daemon's first
   iteration (`execute_backfill_iteration`) in process, with the runs it queued (single-run policy: Dagster groups
   the selection by its dimension with fewer keys). `--backfill-days 365 --parts 4`: the whole history, 334 days.

Runs are only queued (no run-queue daemon): nothing executes. The figures go to stdout as a table, with the load
average at start and end; `--parts 1,2` measures the UI alone. Results: `bench/scale/README.md`, `deploy/SCALE.md`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from dagster import (
    AssetKey,
    AssetMaterialization,
    DagsterInstance,
    RepositoryDefinition,
    build_schedule_context,
    build_sensor_context,
    partition_loading_context,
)
from dagster._core.events import DagsterEvent, DagsterEventType, StepMaterializationData
from dagster._core.events.log import EventLogEntry
from dagster._core.instance.utils import RUNLESS_JOB_NAME, RUNLESS_RUN_ID
from dagster._core.storage.dagster_run import RunsFilter
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.backfill import execute_backfill_iteration
from dagster._daemon.sensor import execute_sensor_iteration

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests" / "support"))
from distributed_backfill import backbeat_env, backbeat_environment  # noqa: E402
from embedded_pg import EmbeddedPostgres  # noqa: E402

from assets.airplay.jobs import station_day_job  # noqa: E402
from assets.airplay.schedules import daily_chain_schedule  # noqa: E402
from assets.airplay.sensors import landing_chunks_sensor  # noqa: E402
from assets.common.keys import AIRPLAY_PLAYLOGS  # noqa: E402
from assets.common.partitions import (  # noqa: E402
    HISTORY_START,
    STATIONS_TAG,
    day_shard_key,
    day_shard_partitions,
    station_day_key,
)
from assets.common.paths import DataDirResource  # noqa: E402
from backbeat.airplay.shards import SHARD_COUNT, SHARD_KEYS, by_shard  # noqa: E402
from backbeat.airplay.tables import STATIONS  # noqa: E402
from backbeat.settings import REPO_ROOT, Settings  # noqa: E402
from integrations.warehouse import Warehouse, WarehouseResource  # noqa: E402
from orchestration.definitions import build_definitions  # noqa: E402

DAGSTER_GUIDANCE = 100_000
"""Dagster's documented ceiling of partitions per asset (beyond it the UI and the daemons slow down)."""
LOCATION = "backbeat"
WEBSERVER_START_TIMEOUT_S = 180.0
QUERY_TIMEOUT_S = 600.0
QUERY_REPEATS = 3
EVENT_BATCH = 1_000
LAST_DAY = date(2026, 11, 30)
"""The last day of the synthetic history (materializations and the backfill end here)."""

PARTITION_HEALTH_QUERY = """
query PartitionHealthQuery($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode {
      id
      partitionKeysByDimension { name type partitionKeys }
      assetPartitionStatuses {
        ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
        ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
        ... on MultiPartitionStatuses {
          primaryDimensionName
          ranges {
            primaryDimStartKey primaryDimEndKey primaryDimStartTime primaryDimEndTime
            secondaryDim {
              ... on TimePartitionStatuses { ranges { status startTime endTime startKey endKey } }
              ... on DefaultPartitionStatuses { materializedPartitions materializingPartitions failedPartitions }
            }
          }
        }
      }
    }
  }
}
"""
"""The asset partition page's health query, verbatim from dagster-webserver's UI (usePartitionHealthData.tsx)."""

PARTITION_STATS_QUERY = """
query PartitionStats($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    ... on AssetNode { partitionStats { numMaterialized numMaterializing numFailed numPartitions } }
  }
}
"""

LAUNCH_BACKFILL_MUTATION = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message stack }
    ... on UnauthorizedError { message }
    ... on PartitionSetNotFoundError { message }
    ... on InvalidSubsetError { message }
  }
}
"""


def station_day_chain(repository: RepositoryDefinition) -> list[AssetKey]:
    """What `station_day_job` selects (the chain with the tables written in the same steps: capture gaps, ledger
    batches), as a UI user selects it for a backfill of day × shard partitions."""
    return sorted(station_day_job.selection.resolve(repository.asset_graph), key=lambda key: key.path)


class Figures:
    """The measured rows, in order: (figure, value)."""

    def __init__(self) -> None:
        self.rows: list[tuple[str, str]] = []

    def add(self, name: str, value: object) -> None:
        self.rows.append((name, str(value)))
        print(f"  {name}: {value}", flush=True)

    def table(self) -> str:
        width = max(len(name) for name, _ in self.rows)
        lines = [f"{'figure':<{width}}  value", f"{'-' * width}  {'-' * 24}"]
        lines += [f"{name:<{width}}  {value}" for name, value in self.rows]
        return "\n".join(lines)


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """fn's result and its wall time in seconds."""
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def station_ids(count: int) -> list[str]:
    return [f"station-{index:04d}" for index in range(count)]


def days_back(last: date, count: int) -> list[date]:
    return [last - timedelta(days=offset) for offset in range(count - 1, -1, -1)]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_stations(url: str, stations: list[str], figures: Figures) -> None:
    """Writes the stations into `airplay.stations` (all active, one transaction), reports their spread over the
    shards and counts the day × shard partitions."""
    rows = [
        {
            "station_id": station,
            "name": f"Station {station[len('station-') :]}",
            "stream_url": f"http://127.0.0.1/{station}",
            "active": True,
            "timezone": "UTC",
        }
        for station in stations
    ]
    _, seconds = timed(lambda: Warehouse(url).replace(STATIONS, STATIONS.from_rows(rows)))
    figures.add(f"write {len(stations)} stations to airplay.stations (s)", f"{seconds:.2f}")
    sizes = [len(group) for group in by_shard(stations).values()]
    sizes += [0] * (SHARD_COUNT - len(sizes))  # the shards no station hashes to
    figures.add(
        "stations per shard: min / mean / max",
        f"{min(sizes)} / {statistics.mean(sizes):.1f} / {max(sizes)} "
        f"(sd {statistics.pstdev(sizes):.1f}; {sum(1 for size in sizes if size)} of {SHARD_COUNT} shards used)",
    )
    now = datetime.now(UTC)
    in_a_year = datetime.fromisoformat(HISTORY_START).replace(tzinfo=UTC) + timedelta(days=365)
    for label, moment in (("today", now), (f"on {in_a_year:%Y-%m-%d}", in_a_year)):
        count, seconds = timed(lambda moment=moment: count_partitions(moment))
        figures.add(
            f"partitions per day×shard asset, {label}",
            f"{count:,} = {count // SHARD_COUNT} days × {SHARD_COUNT} = {count / DAGSTER_GUIDANCE:.2f}× the guidance "
            f"(counted in {seconds:.2f} s)",
        )
    keys, seconds = timed(day_shard_partitions.get_partition_keys)
    figures.add("list every day×shard key in process (s)", f"{seconds:.2f} ({len(keys):,} keys)")


def count_partitions(moment: datetime) -> int:
    """How many day × shard partitions Dagster sees at `moment` (the same at any number of stations)."""
    with partition_loading_context(effective_dt=moment):
        return day_shard_partitions.get_num_partitions()


def record_materializations(instance: DagsterInstance, keys: list[str]) -> float:
    """Runless materializations of `airplay/playlogs` for `keys`, written in batches; seconds taken."""

    def entry(key: str) -> EventLogEntry:
        event = DagsterEvent(
            event_type_value=DagsterEventType.ASSET_MATERIALIZATION.value,
            job_name=RUNLESS_JOB_NAME,
            event_specific_data=StepMaterializationData(AssetMaterialization(AIRPLAY_PLAYLOGS, partition=key)),
        )
        return EventLogEntry(
            error_info=None,
            level=logging.INFO,
            user_message="",
            run_id=RUNLESS_RUN_ID,
            timestamp=time.time(),
            dagster_event=event,
        )

    start = time.perf_counter()
    for first in range(0, len(keys), EVENT_BATCH):
        instance.event_log_storage.store_event_batch([entry(key) for key in keys[first : first + EVENT_BATCH]])
    return time.perf_counter() - start


@contextmanager
def webserver(environment: dict[str, str], log_path: Path) -> Iterator[str]:
    """`dagster-webserver` on the real workspace in its own process group; yields its GraphQL URL."""
    port = free_port()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dagster-webserver"),
                "-w",
                str(REPO_ROOT / "workspace.yaml"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
            ],
            cwd=REPO_ROOT,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + WEBSERVER_START_TIMEOUT_S
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"dagster-webserver exited {process.returncode}: see {log_path}")
            try:
                answer = graphql(url, PARTITION_STATS_QUERY, {"assetKey": {"path": AIRPLAY_PLAYLOGS.path}})
                if answer.get("assetNodeOrError", {}).get("partitionStats"):
                    break
            except (httpx.HTTPError, RuntimeError):
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(f"dagster-webserver not serving the code location: see {log_path}")
            time.sleep(1.0)
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def graphql(url: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(url, json={"query": query, "variables": variables}, timeout=QUERY_TIMEOUT_S)
    if response.status_code != 200:
        raise RuntimeError(f"GraphQL answered {response.status_code}: {response.text[:3000]}")
    body = response.json()
    if body.get("errors"):
        raise RuntimeError(json.dumps(body["errors"])[:2000])
    return body["data"]


def partition_page(url: str, figures: Figures, label: str) -> None:
    """The partition page's queries, `QUERY_REPEATS` times each: first (cold cache) and median."""
    variables = {"assetKey": {"path": AIRPLAY_PLAYLOGS.path}}
    stats = graphql(url, PARTITION_STATS_QUERY, variables)["assetNodeOrError"]["partitionStats"]
    figures.add(
        f"UI partition stats ({label})",
        f"{stats['numPartitions']:,} partitions, {stats['numMaterialized']:,} materialized",
    )
    times, size = [], 0
    for _ in range(QUERY_REPEATS):
        start = time.perf_counter()
        response = httpx.post(
            url, json={"query": PARTITION_HEALTH_QUERY, "variables": variables}, timeout=QUERY_TIMEOUT_S
        )
        times.append(time.perf_counter() - start)
        response.raise_for_status()
        if response.json().get("errors"):
            raise RuntimeError(response.text[:2000])
        size = len(response.content)
    figures.add(
        f"UI PartitionHealthQuery ({label}) s",
        f"first {times[0]:.2f}, median {statistics.median(times):.2f} ({size / 1e3:.0f} kB answer)",
    )
    stats_times = [timed(lambda: graphql(url, PARTITION_STATS_QUERY, variables))[1] for _ in range(QUERY_REPEATS)]
    figures.add(f"UI partitionStats query ({label}) s", f"median {statistics.median(stats_times):.2f}")


def ui_part(url: str, instance: DagsterInstance, materialized: int | None, figures: Figures) -> None:
    """The partition page with none, then with `materialized` partitions materialized (None: every partition up to
    `LAST_DAY`): the most recent days at every shard, what a running deployment has."""
    partition_page(url, figures, "0 materialized")
    history = history_days()
    wanted = history * SHARD_COUNT if materialized is None else materialized
    days = min(-(-wanted // SHARD_COUNT), history)  # no keys before the first partition
    keys = [str(day_shard_key(shard, d)) for d in days_back(LAST_DAY, days) for shard in SHARD_KEYS][:wanted]
    seconds = record_materializations(instance, keys)
    figures.add(f"record {len(keys):,} materializations (batched) s", f"{seconds:.2f}")
    partition_page(url, figures, f"{len(keys):,} materialized")


def history_days() -> int:
    """The days from the first partition to `LAST_DAY`, both included."""
    return (LAST_DAY - date.fromisoformat(HISTORY_START)).days + 1


def write_landing(landing: Path, stations: list[str], day: date) -> int:
    """One empty chunk per station on `day` (the sensor reads names and mtimes only)."""
    landing.mkdir(parents=True, exist_ok=True)
    for station in stations:
        (landing / f"{station}_{day:%Y%m%d}T120000Z.mp3").write_bytes(b"")
    return len(stations)


def sensor_in_process(
    instance: DagsterInstance,
    repository: RepositoryDefinition,
    data_dir: Path,
    warehouse_url: str,
    stations: list[str],
    figures: Figures,
) -> None:
    """The airplay sensor and schedule evaluated in this process (evaluation only: no runs created)."""
    chunks = write_landing(data_dir / "landing", stations, LAST_DAY + timedelta(days=1))
    resources = {"data_dir": DataDirResource(data_dir=str(data_dir))}
    context = build_sensor_context(instance=instance, resources=resources)
    result, evaluation_s = timed(lambda: landing_chunks_sensor(context))
    requests = result.run_requests or []
    tagged = max((len(r.tags.get(STATIONS_TAG, "").split(",")) for r in requests), default=0)
    figures.add(
        "landing sensor evaluation, 1 new chunk/station (s)",
        f"{evaluation_s:.2f} ({len(requests)} run requests, {chunks} files, up to {tagged} stations tagged a run)",
    )
    idle = build_sensor_context(instance=instance, resources=resources, cursor=result.cursor)
    _, seconds = timed(lambda: landing_chunks_sensor(idle))
    figures.add("landing sensor evaluation, nothing new (s)", f"{seconds:.2f}")
    when = datetime.combine(LAST_DAY + timedelta(days=2), datetime.min.time(), UTC).replace(hour=2)
    schedule_resources = {**resources, "warehouse": WarehouseResource(url=warehouse_url)}
    schedule_context = build_schedule_context(
        instance, scheduled_execution_time=when, repository_def=repository, resources=schedule_resources
    )
    data, seconds = timed(lambda: daily_chain_schedule.evaluate_tick(schedule_context))
    figures.add(
        "daily chain schedule evaluation (s)",
        f"{seconds:.2f} ({len(data.run_requests or [])} run requests, {len(stations)} active stations)",
    )


def sensor_daemon_tick(
    workspace: WorkspaceProcessContext,
    instance: DagsterInstance,
    data_dir: Path,
    stations: list[str],
    figures: Figures,
) -> None:
    """One sensor-daemon iteration over every running sensor, `stations` having a new chunk each; the landing
    sensor's tick from its record (one queued run per touched day × shard), and its cost per queued run."""
    write_landing(data_dir / "landing", stations, LAST_DAY + timedelta(days=1))
    logger = logging.getLogger("bench.sensor_daemon")
    before = instance.get_runs_count()
    _, seconds = timed(lambda: list(execute_sensor_iteration(workspace, logger, None, None)))
    repository = next(iter(workspace.create_request_context().get_code_location(LOCATION).get_repositories().values()))
    sensor = repository.get_sensor(landing_chunks_sensor.name)
    ticks = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id, limit=1)
    queued = instance.get_runs_count() - before
    if not ticks:
        figures.add("sensor daemon iteration (s)", f"{seconds:.2f} (no landing sensor tick recorded)")
        return
    tick = ticks[0]
    tick_s = (tick.end_timestamp or time.time()) - tick.timestamp
    runs = len(tick.run_ids)
    figures.add(
        f"sensor daemon: landing sensor tick, {len(stations)} new station-days (s)",
        f"{tick_s:.2f} ({tick.status.value}, {runs} runs queued)",
    )
    figures.add("sensor daemon: whole iteration, all sensors (s)", f"{seconds:.2f} ({queued} runs queued in all)")
    if runs:
        figures.add("sensor daemon: per queued run (s)", f"{tick_s / runs:.2f}")


def backfill(
    url: str,
    workspace: WorkspaceProcessContext,
    instance: DagsterInstance,
    chain: list[AssetKey],
    stations: list[str],
    days: int,
    figures: Figures,
) -> None:
    """A backfill of the stations' shards × days through the webserver, then the backfill daemon's first
    iteration in process."""
    span = min(days, history_days())  # no partition before the first day
    keys = sorted({str(station_day_key(station, day)) for station in stations for day in days_back(LAST_DAY, span)})
    params = {
        "assetSelection": [{"path": key.path} for key in chain],
        "partitionNames": keys,
        "fromFailure": False,
    }
    answer, seconds = timed(lambda: graphql(url, LAUNCH_BACKFILL_MUTATION, {"backfillParams": params}))
    launched = answer["launchPartitionBackfill"]
    if launched["__typename"] != "LaunchBackfillSuccess":
        raise RuntimeError(f"backfill not launched: {json.dumps(launched)[:2000]}")
    backfill_id = launched["backfillId"]
    capped = f", capped from {days}: history starts {HISTORY_START}" if span < days else ""
    figures.add(
        f"backfill {len(stations)} stations × {span} days{capped} = {len(keys):,} shard-days: "
        "create via UI mutation (s)",
        f"{seconds:.2f}",
    )
    logger = logging.getLogger("bench.backfill_daemon")
    before = instance.get_runs_count()
    errors, seconds = timed(lambda: [e for e in execute_backfill_iteration(workspace, logger) if e is not None])
    runs = instance.get_runs_count(RunsFilter(tags={"dagster/backfill": backfill_id}))
    status = instance.get_backfill(backfill_id)
    figures.add(
        "backfill daemon: first iteration (s)",
        f"{seconds:.2f} ({runs} runs queued, {instance.get_runs_count() - before} new runs, "
        f"status {status.status.value if status else '?'}, {len(errors)} errors)",
    )
    if errors:
        print(errors[0].to_string()[:3000], flush=True)


@contextmanager
def section(title: str, figures: Figures) -> Iterator[None]:
    """A numbered part of the bench: a failure is recorded as a figure and the bench goes on."""
    print(title, flush=True)
    try:
        yield
    except Exception as exc:  # a failed measurement is a figure too
        figures.add(f"{title}: FAILED", f"{type(exc).__name__}: {str(exc)[:600]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument(
        "--materialized",
        type=int,
        default=None,
        help="partitions materialized in part 2 (default: every partition from 2026-01-01 to 2026-11-30)",
    )
    parser.add_argument(
        "--backfill-days", type=int, default=7, help="days of the part-4 backfill (365: the whole history)"
    )
    parser.add_argument("--parts", default="1,2,3,4", help="which numbered parts to run (1 always runs)")
    args = parser.parse_args()
    parts = set(args.parts.split(","))
    stations = station_ids(args.stations)
    figures = Figures()
    started = time.perf_counter()
    figures.add("load average 1/5/15 min at start", " / ".join(f"{load:.2f}" for load in os.getloadavg()))
    with tempfile.TemporaryDirectory(prefix="bench-partitions-") as tmp, EmbeddedPostgres() as pg:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        environment = backbeat_environment(pg, "warehouse", "dagster", data_dir, root / "home")
        warehouse_url = environment["BACKBEAT_WAREHOUSE_URL"]
        logging.basicConfig(level=logging.WARNING)
        with backbeat_env(environment), DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
            repository = build_definitions(Settings.from_env(environment), environment).get_repository_def()
            with section(f"1. {args.stations} stations in airplay.stations, {SHARD_COUNT} shards", figures):
                write_stations(warehouse_url, stations, figures)
            with webserver(environment, root / "webserver.log") as url:
                if "2" in parts:
                    with section("2. the asset partition page", figures):
                        ui_part(url, instance, args.materialized, figures)
                if "3" in parts:
                    with section("3a. the airplay sensor and schedule, in process", figures):
                        sensor_in_process(
                            instance, repository, root / "data-in-process", warehouse_url, stations, figures
                        )
                if parts & {"3", "4"}:
                    target = WorkspaceFileTarget(paths=[str(REPO_ROOT / "workspace.yaml")])
                    with WorkspaceProcessContext(instance, target) as workspace:
                        if "3" in parts:
                            with section("3b. one sensor-daemon iteration", figures):
                                sensor_daemon_tick(workspace, instance, data_dir, stations, figures)
                        if "4" in parts:
                            with section("4. a backfill", figures):
                                chain = station_day_chain(repository)
                                backfill(url, workspace, instance, chain, stations, args.backfill_days, figures)
                if (root / "webserver.log").exists():
                    tail = (root / "webserver.log").read_text(errors="replace").splitlines()[-15:]
                    print("webserver log tail:\n" + "\n".join(tail), flush=True)
    finish(figures, started)


def finish(figures: Figures, started: float) -> None:
    figures.add("load average 1/5/15 min at end", " / ".join(f"{load:.2f}" for load in os.getloadavg()))
    figures.add("bench wall time (s)", f"{time.perf_counter() - started:.0f}")
    print()
    print(figures.table())


if __name__ == "__main__":
    main()
