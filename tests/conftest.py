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
