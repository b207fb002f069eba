"""The schema-version table (`backbeat_meta.schema_version`) and what a warehouse's schema revision is.

One row per revision: `applied` when `backbeat db upgrade` ran it, `stamped` when the code created the warehouse
at head (nothing to run: the tables are created from the declarations, which equal head). A warehouse with
tables of the last unversioned release but no version table is at revision 0001; one with neither is empty.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from urllib.parse import urlparse, urlunparse

from backbeat.migrations.revisions import HEAD, RELEASE_TABLES, REVISIONS
from integrations.warehouse import WarehouseConnection
from integrations.warehouse.client import PG_DDL_LOCK

VERSION_SCHEMA = "backbeat_meta"
VERSION_TABLE = f"{VERSION_SCHEMA}.schema_version"
_CREATE = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} (revision VARCHAR NOT NULL PRIMARY KEY, "
    "description VARCHAR, how VARCHAR NOT NULL, applied_at TIMESTAMP NOT NULL)"
)


@dataclass(frozen=True)
class SchemaState:
    """`recorded`: the last revision in the version table (None without one); `release_tables`: how many tables
    of the last unversioned release exist."""

    versioned: bool
    recorded: str | None
    release_tables: int
    history: tuple[tuple[str, str, str, dt.datetime], ...] = ()

    @property
    def current(self) -> str | None:
        """The revision the schema is at: recorded, else 0001 for release tables, else None (empty)."""
        if self.recorded is not None:
            return self.recorded
        return REVISIONS[0].id if self.release_tables else None

    @property
    def empty(self) -> bool:
        return not self.versioned and not self.release_tables

    @property
    def pending(self) -> list[str]:
        """Revisions `backbeat db upgrade` would run (an unversioned release re-runs 0001 to complete it)."""
        return [r.id for r in REVISIONS if self.recorded is None or r.id > self.recorded]

    def describe(self) -> str:
        if self.empty:
            return "empty (no Backbeat tables, no version table)"
        if not self.versioned:
            return f"revision {self.current} (release d6a27fb: {self.release_tables} of its tables, no version table)"
        if self.recorded is None:
            return "version table without revisions"
        head = " (head)" if self.recorded == HEAD else (" (newer than this code)" if self.recorded > HEAD else "")
        return f"revision {self.recorded}{head}"


def read_state(conn: WarehouseConnection) -> SchemaState:
    """The warehouse's schema state, read in the caller's transaction."""
    names = set(
        conn.query(
            "SELECT table_schema || '.' || table_name AS name FROM information_schema.tables "
            f"WHERE table_schema IN ({', '.join('?' for _ in _schemas())})",
            _schemas(),
        )["name"].to_list()
    )
    release = len(names & set(RELEASE_TABLES))
    if VERSION_TABLE not in names:
        return SchemaState(False, None, release)
    rows = conn.query(f"SELECT revision, description, how, applied_at FROM {VERSION_TABLE} ORDER BY revision").rows()
    return SchemaState(True, rows[-1][0] if rows else None, release, tuple(rows))


def lock_schema(conn: WarehouseConnection) -> None:
    """PostgreSQL: hold the DDL advisory lock (the one `ensure` takes) until the transaction ends; DuckDB
    serialises writers itself."""
    if conn.kind == "postgres":
        conn.execute("SELECT pg_advisory_xact_lock(?)", [PG_DDL_LOCK])


def record(conn: WarehouseConnection, revision: str, description: str, how: str) -> None:
    """Create the version table if needed and record `revision`."""
    conn.execute(f"CREATE SCHEMA IF NOT EXISTS {VERSION_SCHEMA}")
    conn.execute(_CREATE)
    conn.execute(
        f"INSERT INTO {VERSION_TABLE} (revision, description, how, applied_at) VALUES (?, ?, ?, ?)",
        [revision, description, how, dt.datetime.now(dt.UTC).replace(tzinfo=None)],
    )


def stamp_head(conn: WarehouseConnection) -> None:
    """Record every revision as `stamped`: the code is creating this warehouse at head."""
    for revision in REVISIONS:
        record(conn, revision.id, revision.description, "stamped")


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlparse(url)
    if not parts.password:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunparse(parts._replace(netloc=f"{parts.username}:***@{host}"))


def _schemas() -> list[str]:
    return sorted({VERSION_SCHEMA, *(n.split(".")[0] for n in RELEASE_TABLES)})
