"""N dagster-celery workers on this machine, each a separate process in its own process group.

    with CeleryWorkers(2, env, cwd=repo_root, log_dir=tmp_path) as workers:
        workers.names  # ["worker-1@<host>", "worker-2@<host>"]: the "Celery worker" of each step's engine event

Each worker is started as the deployment starts it, `dagster-celery worker start -A dagster_celery.app -y
deploy/celery.yaml`, with the solo pool: one step at a time, executed in the worker process itself (Dagster steps
are not thread-safe; a worker per core is the unit of scale). `env` is the environment the workers load the code
location with: the warehouse URL, the Dagster instance variables and BACKBEAT_CELERY_BROKER/BACKEND. The broker
itself is not started here: with kombu's SQLAlchemy transport it is a database of the PostgreSQL server.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import psutil

from orchestration.celery_broker import prepare_broker

START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 15.0
CONFIG_YAML = Path(__file__).resolve().parents[2] / "deploy" / "celery.yaml"


class CeleryWorkersError(RuntimeError):
    """A worker exited or did not report ready; the message carries the tail of its log."""


class CeleryWorkers:
    """`count` celery workers between `start()` and `stop()` (or a `with` block)."""

    def __init__(self, count: int, env: Mapping[str, str], cwd: Path, log_dir: Path) -> None:
        self.count = count
        self.env = dict(env)
        self.cwd = cwd
        self.log_dir = log_dir
        self.names = [f"worker-{index + 1}@{socket.gethostname()}" for index in range(count)]
        self._processes: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        """Start every worker and wait until each has connected to the broker and says it is ready."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        prepare_broker(self.env.get("BACKBEAT_CELERY_BROKER", ""))  # as the deployment does before its workers
        try:
            for name in self.names:
                self._spawn(name)
            self._wait_until_ready()
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """SIGTERM each worker's process group (a warm shutdown), then SIGKILL what is left. Idempotent."""
        for _, process, _ in self._processes:
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for _, process, log in self._processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            _signal_group(process, signal.SIGKILL)  # the celery process under the CLI, if still there
            process.wait()
            log.close()
        self._processes = []

    @property
    def pids(self) -> list[int]:
        """The pid of each worker's `dagster-celery worker start` process (the celery worker runs under it)."""
        return [process.pid for _, process, _ in self._processes]

    def worker_pids(self) -> set[int]:
        """The pids of the celery worker processes (children of the CLI processes): where the steps run."""
        pids = set()
        for pid in self.pids:
            with contextlib.suppress(psutil.NoSuchProcess):
                pids |= {child.pid for child in psutil.Process(pid).children()}
        return pids

    def log_text(self, name: str) -> str:
        path = self._log_path(name)
        return path.read_text(errors="replace") if path.exists() else ""

    def _log_path(self, name: str) -> Path:
        return self.log_dir / f"{name.split('@')[0]}.log"

    def _spawn(self, name: str) -> None:
        log = self._log_path(name).open("wb")
        bin_dir = Path(sys.executable).parent
        process = subprocess.Popen(
            [
                str(bin_dir / "dagster-celery"),
                "worker",
                "start",
                "-A",
                "dagster_celery.app",
                "-y",
                str(CONFIG_YAML),
                "-n",
                name.split("@")[0],
                "--",
                "--pool",
                "solo",
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=self.cwd,
            # the CLI starts `celery` from PATH: the venv's, as in the image
            env={**self.env, "PATH": f"{bin_dir}{os.pathsep}{self.env.get('PATH', '')}", "PYTHONUNBUFFERED": "1"},
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self._processes.append((name, process, log))

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        waiting = set(self.names)
        while waiting:
            for name, process, _ in self._processes:
                if process.poll() is not None:
                    raise CeleryWorkersError(f"celery {name} exited with {process.returncode}\n{self._tail(name)}")
            waiting = {name for name in waiting if f"{name} ready." not in self.log_text(name)}
            if waiting and time.monotonic() > deadline:
                name = sorted(waiting)[0]
                raise CeleryWorkersError(f"celery {name} not ready in {START_TIMEOUT_S:.0f} s\n{self._tail(name)}")
            time.sleep(0.1)

    def _tail(self, name: str, lines: int = 30) -> str:
        return "\n".join(self.log_text(name).splitlines()[-lines:])


def _signal_group(process: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, sig)
