# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0004: airplay.capture_sessions, the capture service's durable session per station.

Frozen: written from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0004"
DESCRIPTION = "airplay.capture_sessions: one durable session per station of the capture service"
ALTERS: tuple[str, ...] = ()


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new tables, add the new nullable columns; say what was done."""
    done = [f"{name} {what or 'present'}" for name, what in complete_tables(conn, TABLES).items()]
    for sql in ALTERS:
        conn.execute(sql)
        done.append(sql.removeprefix("ALTER TABLE ").replace(" ADD COLUMN IF NOT EXISTS ", " + "))
    return "; ".join(done)


TABLES: tuple[FrozenTable, ...] = (
    FrozenTable(
        "airplay.capture_sessions",
        (
            ("session_id", "VARCHAR", False),
            ("station_id", "VARCHAR", False),
            ("state", "VARCHAR", True),
            ("detail", "VARCHAR", True),
            ("host", "VARCHAR", True),
            ("pid", "BIGINT", True),
            ("started_at", "TIMESTAMP", True),
            ("stopped_at", "TIMESTAMP", True),
            ("heartbeat_at", "TIMESTAMP", True),
            ("heartbeat_seconds", "DOUBLE PRECISION", True),
            ("resumed_after_utc", "TIMESTAMP", True),
            ("last_chunk_id", "VARCHAR", True),
            ("last_chunk_at", "TIMESTAMP", True),
            ("chunks", "BIGINT", True),
            ("gaps", "BIGINT", True),
            ("restarts", "BIGINT", True),
            ("last_error", "VARCHAR", True),
        ),
        primary_key=("session_id",),
        constraints=(),
        pg_triggers=(),
    ),
)
