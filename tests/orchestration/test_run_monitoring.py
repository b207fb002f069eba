"""A run whose worker is killed with `kill -9` is marked failed by run monitoring, not left STARTED."""

import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml
from dagster import DagsterInstance, DagsterRunStatus, MetadataValue, instance_for_test
from dagster._core.events import EngineEventData
from dagster._core.launcher import WorkerStatus
from dagster._core.test_utils import create_run_for_test
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import PythonFileTarget
from dagster._daemon.monitoring.run_monitoring import execute_run_monitoring_iteration

from orchestration.run_launcher import HOST_TAG, run_worker_pid

REPO = Path(__file__).parents[2]
SLEEPY = Path(__file__).parent / "monitoring_support" / "sleepy.py"


def instance_settings(name: str) -> dict:
    config = yaml.safe_load((REPO / "deploy" / name).read_text())
    return {"run_launcher": config["run_launcher"], "run_monitoring": config["run_monitoring"]}


def wait_for(predicate, seconds: float = 60.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out waiting")


def test_both_instance_configs_monitor_runs_with_our_launcher():
    for name in ("dagster.local.yaml", "dagster.postgres.yaml"):
        settings = instance_settings(name)
        assert settings["run_launcher"] == {"module": "orchestration.run_launcher", "class": "MonitoredRunLauncher"}
        assert settings["run_monitoring"]["enabled"] is True


@contextmanager
def sleepy_location() -> Iterator[tuple[DagsterInstance, WorkspaceProcessContext]]:
    """A test instance with our launcher and run monitoring, and the sleepy code location's workspace."""
    with (
        instance_for_test(overrides=instance_settings("dagster.local.yaml")) as instance,
        WorkspaceProcessContext(
            instance, PythonFileTarget(str(SLEEPY), "defs", str(SLEEPY.parent), "sleepy")
        ) as context,
    ):
        yield instance, context


def test_a_killed_run_worker_is_marked_failed():
    with sleepy_location() as (instance, context):
        workspace = context.create_request_context()
        location = workspace.get_code_location("sleepy")
        remote_job = location.get_repository("__repository__").get_full_job("sleepy_job")
        run = create_run_for_test(
            instance,
            job_name="sleepy_job",
            remote_job_origin=remote_job.get_remote_origin(),
            job_code_origin=remote_job.get_python_origin(),
            job_snapshot=remote_job.job_snapshot,
        )
        instance.launch_run(run.run_id, workspace)
        pid, _ = wait_for(lambda: run_worker_pid(instance, run.run_id))
        wait_for(lambda: instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED)
        assert instance.get_run_by_id(run.run_id).tags[HOST_TAG]

        logger = logging.getLogger("test_run_monitoring")
        list(execute_run_monitoring_iteration(context, logger))
        assert instance.get_run_by_id(run.run_id).status == DagsterRunStatus.STARTED  # alive: left alone

        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: _gone(pid))
        health = instance.run_launcher.check_run_worker_health(instance.get_run_by_id(run.run_id))
        assert health.status == WorkerStatus.FAILED
        assert health.msg == f"run worker process {pid} is gone"

        # The code server that launched the run may notice its child's death first (its cleanup thread
        # ticks every few seconds); run monitoring is what fails the run when no code server is left to.
        list(execute_run_monitoring_iteration(context, logger))
        failed = instance.get_run_by_id(run.run_id)
        assert failed.status == DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(run.run_id) if e.message]
        assert any(f"run worker process {pid} is gone" in m or "Run execution process" in m for m in messages)


def test_a_run_whose_worker_died_with_its_code_server_is_failed_by_run_monitoring():
    """No code server is left to notice (a reboot, an OOM kill of both): run monitoring alone fails the run."""
    with sleepy_location() as (instance, context):
        dead = subprocess.Popen(["true"])
        dead.wait()
        run = create_run_for_test(
            instance, job_name="sleepy_job", status=DagsterRunStatus.STARTED, tags={HOST_TAG: socket.gethostname()}
        )
        instance.report_engine_event(
            f"Started process for run (pid: {dead.pid}).",
            run,
            EngineEventData({"pid": MetadataValue.text(str(dead.pid))}),
        )
        list(execute_run_monitoring_iteration(context, logging.getLogger("test_run_monitoring")))
        failed = instance.get_run_by_id(run.run_id)
        assert failed.status == DagsterRunStatus.FAILURE
        messages = [e.message for e in instance.all_logs(run.run_id) if e.message]
        assert any(f"run worker process {dead.pid} is gone" in m for m in messages)


def _gone(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(") ")[1].startswith("Z")
    except FileNotFoundError:
        return True
