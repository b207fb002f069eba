"""Steps of a station-day backfill run on two celery workers (separate processes, broker and results in the
PostgreSQL server), and the ledger they write is the one an in-process run writes.

The distributed backfill runs as production runs it: one run per shard (here one station each) over its days, each in
its own run-worker process (`dagster api execute_run`), two at a time, against a PostgreSQL Dagster instance and
warehouse. The celery one has the workers and the broker database of `deploy/celery.yaml`; the reference executes
the same runs in the test process with the in-process executor.
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest
from celery_workers import CeleryWorkers
from dagster import DagsterInstance
from distributed_backfill import (
    backbeat_env,
    backbeat_environment,
    backfill_in_process,
    celery_workers_of_steps,
    copy_station_day,
    launch_backfill,
    ledger_rows,
    materialize_reference,
    step_pids,
)

from backbeat.demo import generate_demo
from backbeat.settings import REPO_ROOT, Settings
from orchestration.definitions import build_definitions

pytestmark = pytest.mark.slow

STATION_DAYS = [(station, date(2026, 11, day)) for station in ("radio-north", "radio-south") for day in (2, 3)]


@pytest.fixture(scope="module")
def demo_template(tmp_path_factory) -> Path:
    """2 stations × 6 minutes of radio on 11-02, copied to 11-03: four captured station-days."""
    data_dir = tmp_path_factory.mktemp("distributed") / "data"
    generate_demo(data_dir, minutes_per_station=6, n_artists=6, n_tracks=8, tracks_with_audio=5)
    for station, day in STATION_DAYS:
        assert copy_station_day(data_dir / "landing", station, day) > 0
    return data_dir


def _deployment(pg, tmp_path: Path, template: Path, name: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a deployment of its own: data dir, warehouse and Dagster databases named `name`."""
    data_dir = tmp_path / name / "data"
    shutil.copytree(template, data_dir)
    return backbeat_environment(pg, f"{name}_warehouse", f"{name}_dagster", data_dir, tmp_path / name / "home", extra)


def test_station_day_backfill_runs_steps_on_two_celery_workers_and_writes_the_in_process_ledger(
    postgres_server, demo_template, tmp_path
):
    pg = postgres_server
    broker = pg.create_database("celery_broker")
    celery = {
        "BACKBEAT_EXECUTOR": "celery",
        "BACKBEAT_CELERY_BROKER": f"sqla+{broker}",
        "BACKBEAT_CELERY_BACKEND": f"db+{broker}",
    }
    env = _deployment(pg, tmp_path, demo_template, "celery", celery)
    with CeleryWorkers(2, env, cwd=REPO_ROOT, log_dir=tmp_path / "workers") as workers, backbeat_env(env):
        materialize_reference(env)
        run_ids = launch_backfill(env, STATION_DAYS, concurrent=2)
        worker_pids = workers.worker_pids()
        job = build_definitions(Settings.from_env(env), env).resolve_job_def("station_day_job")
        with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
            on_workers = celery_workers_of_steps(instance, run_ids)
            pids = step_pids(instance, run_ids)
    step_keys = {node.name for node in job.nodes_in_topological_order}
    assert len(run_ids) == 2  # one run per shard (one station each), as the single-run backfill policy splits it
    assert set(on_workers) == {(run_id, key) for run_id in run_ids for key in step_keys}  # every step, via celery
    assert set(on_workers.values()) == set(workers.names), on_workers  # both workers took steps
    assert set().union(*pids.values()) == worker_pids and len(worker_pids) == 2  # in the workers' processes

    reference = _deployment(pg, tmp_path, demo_template, "in_process", {"BACKBEAT_EXECUTOR": "in_process"})
    with backbeat_env(reference):
        materialize_reference(reference)
        backfill_in_process(reference, STATION_DAYS)
    distributed = ledger_rows(env["BACKBEAT_WAREHOUSE_URL"])
    assert distributed == ledger_rows(reference["BACKBEAT_WAREHOUSE_URL"])
    assert {(row[3], row[1]) for row in distributed} == {(s, d) for s, d in STATION_DAYS}  # station, posted_for
    assert sum(row[8] for row in distributed) == 0
