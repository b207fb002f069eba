"""Fixtures shared by every test package. Sections: markers; the dbt manifest; real local servers."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from embedded_pg import EmbeddedPostgres

# ---- Markers ------------------------------------------------------------------------------------------

# Tests under these paths (relative to tests/) are marked `slow`: whole-pipeline runs, the demo, dbt builds,
# README commands, notebooks, the code location and its automation, OCR, timed live-stream captures, and the
# modules that materialize assets on both warehouses. `make test-fast` (`pytest -m "not slow"`) keeps the pure
# functions and the light asset tests; `make test` and CI run everything.
SLOW_PATHS = (
    "pipeline/",
    "demo/",
    "dbt/",
    "docs/",
    "notebooks/",
    "orchestration/test_backfill.py",
    "orchestration/test_run_monitoring.py",
    "orchestration/test_webserver.py",
    "integrations/test_capture",
    "integrations/test_ocr.py",
    "orchestration/",
    "exports/",
    "cli/",
    "assets/test_playlogs_",
    "assets/test_truncated_chunks.py",
    "audio/test_features.py",
    "catalog/test_catalog_assets.py",
    "curation/test_assets.py",
    "rights/test_rights_assets.py",
    "rights/test_intake.py",
    "royalties/test_ledger_asset.py",
    "royalties/test_monthly_export.py",
    "royalties/test_statements.py",
    "outreach/test_send_exactly_once.py",  # processes killed and racing
    "outreach/test_unsubscribe_server.py",  # a uvicorn process
    "outreach/test_cli.py",
    "outreach/test_prospecting_",
    "outreach/test_demo_outreach.py",
    "outreach/test_outreach_assets.py",
)
# The longest modules (minutes each) run first, so that with two workers (`make test`'s default: xdist, one module
# per worker, in this order: `--no-loadscope-reorder`) neither is left with a long module at the end while the other
# idles. Order within a module is kept.
LONGEST_FIRST = (
    "pipeline/test_embedded_pipeline.py",
    "pipeline/test_postgres_pipeline.py",
    "demo/test_demo_run.py",
    "dbt/test_dbt_in_dagster.py",
    "orchestration/test_distributed_executor.py",
)
_TESTS_DIR = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the LONGEST_FIRST modules first; mark `slow` by path (SLOW_PATHS), and `postgres` where a test uses
    the embedded server: by its fixture, or by a `postgres` parameter of the DuckDB/PostgreSQL parametrization
    (which fetches the server lazily)."""

    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(_TESTS_DIR).as_posix()
        return LONGEST_FIRST.index(path) if path in LONGEST_FIRST else len(LONGEST_FIRST)

    if os.environ.get("PYTEST_XDIST_WORKER"):  # only when distributed: one process keeps the plain order
        items.sort(key=rank)  # stable: collection order otherwise
    for item in items:
        if item.path.relative_to(_TESTS_DIR).as_posix().startswith(SLOW_PATHS):
            item.add_marker(pytest.mark.slow)
        callspec = getattr(item, "callspec", None)
        if "postgres_server" in getattr(item, "fixturenames", ()) or (
            callspec is not None and "postgres" in callspec.id.split("-")
        ):
            item.add_marker(pytest.mark.postgres)


# ---- Parallel workers -----------------------------------------------------------------------------------

# numba (librosa's beat tracker) compiles into a cache beside librosa on first use; two workers compiling the
# same function at once read each other's half-written cache and crashed one worker with a segfault. Each
# worker, and every process it starts, gets a cache of its own.
if _worker := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault(
        "NUMBA_CACHE_DIR", os.path.join(tempfile.gettempdir(), f"backbeat-numba-{os.getuid()}-{_worker}")
    )


# ---- dbt manifest -------------------------------------------------------------------------------------


def pytest_sessionstart(session: pytest.Session) -> None:
    """Parse the dbt project once before collection when its manifest is missing or stale (a fresh clone run
    without `make setup`, an edited model): test modules import the definitions, which refuse such a manifest."""
    from dagster_dbt import DbtProject

    from backbeat.analytics.dbt_manifest import stale_manifest_reason
    from backbeat.settings import DBT_EXECUTABLE, DBT_PROJECT_DIR

    project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
    if stale_manifest_reason(project) is None:
        return
    subprocess.run(
        [
            DBT_EXECUTABLE,
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
        ],
        check=True,
        env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"},
    )


# ---- Real local servers -------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    """One real PostgreSQL 18 on 127.0.0.1 for the session; `create_database(name)` gives an empty database.

    Never skipped: if the server cannot start, the tests that use it error with the server log's tail.
    """
    with EmbeddedPostgres() as server:
        yield server


@pytest.fixture(autouse=True)
def no_inherited_dagster_state_storage() -> Iterator[None]:
    """Each test starts without a "current" Dagster defs-state storage.

    Entering a `DagsterInstance` sets that storage in a context variable; when a test leaves it behind after its
    instance is gone, a later `dagster.materialize()` without an instance fails with "Attempted to resolve
    undefined DagsterInstance weakref". Tests that need an instance open their own.
    """
    from dagster._core.storage.defs_state.base import set_defs_state_storage  # no public way to reset it

    with set_defs_state_storage(None):
        yield
