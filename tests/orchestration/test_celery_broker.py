"""`python -m orchestration.celery_broker` prepares a new SQLAlchemy broker database before workers start: the
transport's tables and the `dagster` queue row exist once, however often and however concurrently it runs."""

from __future__ import annotations

import os
import subprocess
import sys

import sqlalchemy as sa

from backbeat.settings import REPO_ROOT
from orchestration.celery_broker import WORKER_QUEUES, prepare_broker
from orchestration.definitions import CELERY_BROKER_ENV


def _queue_names(database_url: str) -> list[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(sa.text("SELECT name FROM kombu_queue ORDER BY name")).scalars())
    finally:
        engine.dispose()


def test_preparing_twice_and_from_two_processes_at_once_leaves_one_row_per_queue(postgres_server):
    database_url = postgres_server.create_database("celery_broker_prepare")
    broker_url = f"sqla+{database_url}"
    assert prepare_broker(broker_url) is True
    assert _queue_names(database_url) == ["dagster"] == list(WORKER_QUEUES)

    env = {**os.environ, CELERY_BROKER_ENV: broker_url}
    command = [sys.executable, "-m", "orchestration.celery_broker"]
    processes = [
        subprocess.Popen(command, cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [process.communicate(timeout=120)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    assert all("tables and queue(s) dagster ready" in output for output in outputs), outputs
    assert _queue_names(database_url) == ["dagster"]


def test_a_broker_that_is_not_a_database_needs_no_preparation_and_an_unset_one_is_an_error():
    assert prepare_broker("redis://127.0.0.1:6379/0") is False
    env = {key: value for key, value in os.environ.items() if key != CELERY_BROKER_ENV}
    result = subprocess.run(
        [sys.executable, "-m", "orchestration.celery_broker"], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert f"{CELERY_BROKER_ENV} is not set" in result.stderr
