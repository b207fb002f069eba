"""A station-day backfill of the airplay chain on a PostgreSQL Dagster instance and warehouse, run as production
runs it: each run in its own run-worker process (`dagster api execute_run`, what Dagster's run launchers start),
on the executor `BACKBEAT_EXECUTOR` selects. For the distributed-executor test and `bench/scale/`.

    environment = backbeat_environment(pg, "warehouse", "dagster", data_dir, tmp_path / "home", celery_env)
    with backbeat_env(environment):  # the warehouse resource reads its URL from the process environment
        materialize_reference(environment)
        run_ids = launch_backfill(environment, station_days, concurrent=2)
        celery_workers_of_steps(instance, run_ids)  # {(run_id, step_key): "worker-1@host", ...}

The backfill is split as the backfill daemon splits it under the chain's `BackfillPolicy.single_run()`: one run
per station over its range of days. Runs go `concurrent` at a time (the instance's `max_concurrent_runs`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Mapping
from datetime import date
from pathlib import Path

from dagster import AssetSelection, DagsterEventType, DagsterInstance, DagsterRunStatus
from dagster._core.origin import JobPythonOrigin
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG
from dagster._grpc.types import ExecuteRunArgs
from embedded_pg import EmbeddedPostgres

from assets.common.partitions import day_shard_key
from backbeat.airplay.shards import shard_of
from backbeat.code_location import CodeLocation
from backbeat.settings import REPO_ROOT, Settings
from orchestration.definitions import build_definitions

DEMO_DAY = date(2026, 11, 2)  # the generated demo's chunks are on this day
RUN_TIMEOUT_S = 600.0
REFERENCE = AssetSelection.assets(
    ["airplay", "stations"],
    ["airplay", "reference_fingerprints"],
    ["airplay", "program_schedule"],
    ["airplay", "program_overrides"],
    ["royalties", "tariffs"],
).upstream()
"""What the chain reads besides its own partitions (rights stay empty: plays are credited to suspense)."""
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
LEDGER_COLUMNS = (
    "entry_kind, posted_for, accounting_period, station_id, play_id, recording_id, account, party_id, "
    "amount_minor, currency, tariff_id"
)
"""Every ledger column but the ids and times a posting makes up (batch_id, line_no, posted_at)."""


def copy_station_day(landing: Path, station: str, day: date) -> int:
    """Copies the demo's chunks of `station` to `day`, same times of day: another captured station-day."""
    copied = 0
    for path in sorted(landing.glob(f"{station}_{DEMO_DAY:%Y%m%d}T*")):
        if day != DEMO_DAY:
            shutil.copy(path, landing / path.name.replace(f"_{DEMO_DAY:%Y%m%d}T", f"_{day:%Y%m%d}T"))
        copied += 1
    return copied


def backbeat_environment(
    pg: EmbeddedPostgres,
    warehouse_db: str,
    dagster_db: str,
    data_dir: Path,
    dagster_home: Path,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The process environment of every Backbeat process of one deployment: a fresh warehouse and Dagster
    database on `pg`, `deploy/dagster.postgres.yaml` as the instance, plus `extra` (the executor's variables)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "deploy" / "dagster.postgres.yaml", dagster_home / "dagster.yaml")
    pg.create_database(dagster_db)
    return {
        **{key: value for key, value in os.environ.items() if not key.startswith(("BACKBEAT_", "DAGSTER_"))},
        "DAGSTER_HOME": str(dagster_home),
        "BACKBEAT_DATA_DIR": str(data_dir),
        "BACKBEAT_WAREHOUSE_URL": pg.create_database(warehouse_db),
        "DAGSTER_PG_USERNAME": pg.user,
        "DAGSTER_PG_PASSWORD": pg.password,
        "DAGSTER_PG_HOST": pg.host,
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_DB": dagster_db,
        **(extra or {}),
    }


@contextlib.contextmanager
def backbeat_env(environment: Mapping[str, str]) -> Iterator[None]:
    """This process's environment set to `environment` for the block (resources read EnvVars from it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(environment)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def materialize_reference(environment: Mapping[str, str]) -> None:
    """The reference data the chain reads, in this process (the stations table the shards' runs read)."""
    defs = build_definitions(Settings.from_env(environment), environment)
    with DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        reference = REFERENCE.resolve(defs.get_repository_def().asset_graph)
        result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=list(reference), raise_on_error=False, run_config=QUIET
        )
    if not result.success:
        raise RuntimeError(f"reference data failed: run {result.run_id}")


def range_tags(station_days: list[tuple[str, date]]) -> list[dict[str, str]]:
    """The partition-range tags of each run of the backfill: one run per shard over its (contiguous) days, as the
    single-run backfill policy splits a selection of several shards and days."""
    by_shard: dict[str, list[date]] = {}
    for station, day in sorted(station_days):
        by_shard.setdefault(shard_of(station), []).append(day)
    return [
        {
            ASSET_PARTITION_RANGE_START_TAG: str(day_shard_key(shard, min(days))),
            ASSET_PARTITION_RANGE_END_TAG: str(day_shard_key(shard, max(days))),
        }
        for shard, days in by_shard.items()
    ]


def backfill_in_process(environment: Mapping[str, str], station_days: list[tuple[str, date]]) -> list[str]:
    """The same runs executed in this process, one after the other: what an in-process run writes."""
    defs = build_definitions(Settings.from_env(environment), environment)
    job_def = defs.resolve_job_def("station_day_job")
    with DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        results = [
            job_def.execute_in_process(instance=instance, tags=tags, run_config=QUIET, raise_on_error=False)
            for tags in range_tags(station_days)
        ]
    if failed := [result.run_id for result in results if not result.success]:
        raise RuntimeError(f"in-process runs failed: {', '.join(failed)}")
    return [result.run_id for result in results]


def launch_backfill(environment: Mapping[str, str], station_days: list[tuple[str, date]], concurrent: int) -> list[str]:
    """One `station_day_job` run per station over its days (contiguous), `concurrent` run workers at a time;
    waits for all and returns the run ids in launch order."""
    settings = Settings.from_env(environment)
    defs = build_definitions(settings, environment)
    job_name = "station_day_job"
    job_def = defs.resolve_job_def(job_name)
    location = CodeLocation.from_workspace(defs.get_repository_def().name)
    with DagsterInstance.from_config(environment["DAGSTER_HOME"]) as instance:
        runs = []
        for tags in range_tags(station_days):
            run = instance.create_run_for_job(
                job_def,
                run_config=QUIET,
                tags=tags,
                remote_job_origin=location.job_origin(job_name),
                job_code_origin=job_origin(location, job_name),
            )
            runs.append(run)
        instance_ref = instance.get_ref()
        logs = Path(environment["DAGSTER_HOME"]) / "run_workers"
        logs.mkdir(exist_ok=True)
        pending = list(runs)
        active: list[subprocess.Popen[bytes]] = []
        deadline = time.monotonic() + RUN_TIMEOUT_S
        try:
            while pending or active:
                while pending and len(active) < concurrent:
                    run = pending.pop(0)
                    args = ExecuteRunArgs(run.job_code_origin, run.run_id, instance_ref, set_exit_code_on_failure=True)
                    with (logs / f"{run.run_id}.log").open("wb") as log:  # the child keeps its own handle
                        active.append(
                            subprocess.Popen(
                                args.get_command_args(),
                                cwd=REPO_ROOT,
                                env=dict(environment),
                                stdout=log,
                                stderr=subprocess.STDOUT,
                                start_new_session=True,
                            )
                        )
                active = [process for process in active if process.poll() is None]
                if time.monotonic() > deadline:
                    raise TimeoutError(f"backfill not done in {RUN_TIMEOUT_S:.0f} s")
                time.sleep(0.05)
        finally:
            for process in active:
                process.kill()
                process.wait()
        for run in runs:
            stored = instance.get_run_by_id(run.run_id)
            if stored is None or stored.status != DagsterRunStatus.SUCCESS:
                tail = "\n".join((logs / f"{run.run_id}.log").read_text(errors="replace").splitlines()[-30:])
                raise RuntimeError(f"run {run.run_id} ({run.tags}) ended {stored and stored.status}:\n{tail}")
    return [run.run_id for run in runs]


def job_origin(location: CodeLocation, job_name: str) -> JobPythonOrigin:
    """The job as the run worker loads it: the code location of workspace.yaml, by module."""
    return JobPythonOrigin(job_name, location.python_origin)


def step_pids(instance: DagsterInstance, run_ids: list[str]) -> dict[str, set[int]]:
    """For each step key, the pids of the processes it started in (STEP_START events of the runs)."""
    pids: dict[str, set[int]] = {}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.STEP_START):
            event = entry.dagster_event
            if event is not None and event.step_key is not None:
                pids.setdefault(event.step_key, set()).add(int(event.pid or 0))
    return pids


def celery_workers_of_steps(instance: DagsterInstance, run_ids: list[str]) -> dict[tuple[str, str], str]:
    """(run id, step key) → the celery worker that executed the step, from the engine event each celery task
    reports before it starts the step ("Executing steps … in celery worker", metadata "Celery worker")."""
    workers = {}
    for run_id in run_ids:
        for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
            event = entry.dagster_event
            data = getattr(event, "engine_event_data", None) if event else None
            worker = data.metadata.get("Celery worker") if data and data.metadata else None
            if event is not None and event.step_key and worker is not None:
                workers[(run_id, event.step_key)] = str(getattr(worker, "value", worker))
    return workers


def ledger_rows(warehouse_url: str) -> list[tuple]:
    """The ledger, every column but made-up ids and times, in a stable order."""
    from integrations.warehouse import Warehouse

    frame = Warehouse(warehouse_url).query(f"SELECT {LEDGER_COLUMNS} FROM royalties.royalty_ledger")
    return sorted(frame.rows(), key=repr)
