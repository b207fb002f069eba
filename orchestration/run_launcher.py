"""A run launcher whose run workers the daemon's run monitoring can see: a run whose process was killed
(`kill -9`, an out-of-memory kill, a reboot) is marked failed instead of staying STARTED for ever, so it can
be re-executed from the UI.

Dagster's `DefaultRunLauncher` starts each run in a local process but cannot tell whether that process is
still alive. This one can: the run's worker pid is in its event log ("Started process for run (pid: N)" or
"Executing steps in process (pid: N)"), and the launcher tags each run with the host it started on. A worker
is dead when no process has that pid, the process is a zombie, or the pid was reused by a process started
after the run. A run started on another host is never judged from here.
"""

from __future__ import annotations

import socket
from typing import Any

import psutil
from dagster import DagsterEventType, DagsterRun
from dagster._core.launcher import CheckRunHealthResult, LaunchRunContext, WorkerStatus
from dagster._core.launcher.default_run_launcher import DefaultRunLauncher
from dagster._core.storage.runs.sqlite.sqlite_run_storage import SqliteRunStorage

HOST_TAG = "backbeat/worker_host"
CLOCK_SLACK_S = 2.0  # process start times are read in clock ticks


def run_worker_pid(instance: Any, run_id: str) -> tuple[int, float] | None:
    """(pid, timestamp of the event naming it) of the run's worker process, from its engine events."""
    for entry in instance.all_logs(run_id, of_type=DagsterEventType.ENGINE_EVENT):
        event = entry.dagster_event
        data = getattr(event, "engine_event_data", None) if event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None:
            return int(getattr(pid, "value", pid)), entry.timestamp
    return None


def worker_status(pid: int, since: float) -> WorkerStatus:
    """RUNNING when `pid` is a live process started no later than `since` (plus slack), else FAILED."""
    try:
        process = psutil.Process(pid)
        if process.status() == psutil.STATUS_ZOMBIE or process.create_time() > since + CLOCK_SLACK_S:
            return WorkerStatus.FAILED
    except psutil.NoSuchProcess:
        return WorkerStatus.FAILED
    except psutil.Error:
        return WorkerStatus.UNKNOWN
    return WorkerStatus.RUNNING


class MonitoredRunLauncher(DefaultRunLauncher):
    """`DefaultRunLauncher` plus a health check of the run worker process, for run monitoring."""

    def launch_run(self, context: LaunchRunContext) -> None:
        self._instance.add_run_tags(context.dagster_run.run_id, {HOST_TAG: socket.gethostname()})
        super().launch_run(context)

    @property
    def supports_check_run_worker_health(self) -> bool:
        return True

    def check_run_worker_health(self, run: DagsterRun) -> CheckRunHealthResult:
        host = run.tags.get(HOST_TAG)
        local_instance = isinstance(self._instance.run_storage, SqliteRunStorage)  # one machine by construction
        if host != socket.gethostname() and not (host is None and local_instance):
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"started on {host or 'another host'}: not judged here")
        found = run_worker_pid(self._instance, run.run_id)
        if found is None:
            return CheckRunHealthResult(WorkerStatus.RUNNING, "the run worker has not reported its process yet")
        pid, since = found
        status = worker_status(pid, since)
        if status == WorkerStatus.UNKNOWN:
            return CheckRunHealthResult(WorkerStatus.RUNNING, f"process {pid} cannot be inspected")
        message = f"run worker process {pid} " + ("is running" if status == WorkerStatus.RUNNING else "is gone")
        return CheckRunHealthResult(status, message)
