# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0005: alerts.incidents and alerts.notifications (one incident per rule and subject, its messages).

Frozen: written from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0005"
DESCRIPTION = "alerts: incidents and their notifications"
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
        "alerts.incidents",
        (
            ("incident_id", "VARCHAR", False),
            ("rule", "VARCHAR", False),
            ("subject_key", "VARCHAR", False),
            ("kind", "VARCHAR", False),
            ("severity", "VARCHAR", True),
            ("summary", "VARCHAR", True),
            ("facts", "VARCHAR", True),
            ("status", "VARCHAR", False),
            ("opened_at", "TIMESTAMP", False),
            ("last_seen_at", "TIMESTAMP", True),
            ("cleared_at", "TIMESTAMP", True),
            ("resolved_at", "TIMESTAMP", True),
            ("notified_at", "TIMESTAMP", True),
            ("recovery_notified_at", "TIMESTAMP", True),
            ("flaps", "BIGINT", True),
        ),
        primary_key=("incident_id",),
        constraints=(),
        pg_triggers=(),
    ),
    FrozenTable(
        "alerts.notifications",
        (
            ("incident_id", "VARCHAR", False),
            ("message", "VARCHAR", False),
            ("channel", "VARCHAR", False),
            ("attempted_at", "TIMESTAMP", False),
            ("delivered", "BOOLEAN", False),
            ("digest", "BOOLEAN", True),
            ("error", "VARCHAR", True),
        ),
        primary_key=("incident_id", "message", "channel", "attempted_at"),
        constraints=(),
        pg_triggers=(),
    ),
)
