# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0009: airplay.station_day_status: per station, day and stage, what the day × shard partitions did.

Frozen: drafted by `backbeat.migrations.draft` from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0009"
DESCRIPTION = "airplay.station_day_status: per station, day and stage, what the day × shard partitions did"
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
        "airplay.station_day_status",
        (
            ("station_id", "VARCHAR", False),
            ("status_date", "DATE", False),
            ("stage", "VARCHAR", False),
            ("shard", "VARCHAR", True),
            ("status", "VARCHAR", True),
            ("row_count", "BIGINT", True),
            ("detail", "VARCHAR", True),
            ("run_id", "VARCHAR", True),
            ("updated_at", "TIMESTAMP", True),
        ),
        primary_key=("station_id", "status_date", "stage"),
        constraints=(),
        pg_triggers=(),
    ),
)
