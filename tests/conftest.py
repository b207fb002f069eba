"""Fixtures shared by every test package. Sections: real local servers; (more to come)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from backbeat.testing import EmbeddedPostgres

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
