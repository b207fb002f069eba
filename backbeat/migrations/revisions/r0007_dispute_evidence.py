# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0007: disputes with evidence (issue 18, item 4).

New table royalties.dispute_activity (each dispute's audit trail: steps, comments, attachments with their
sha256, actor, role and time); royalties.dispute_events gains `role` (nullable: steps recorded before roles
are left null).

Frozen: written from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0007"
DESCRIPTION = "royalties: dispute audit trail with evidence hashes (dispute_activity), role on dispute_events"
ALTERS: tuple[str, ...] = ("ALTER TABLE royalties.dispute_events ADD COLUMN IF NOT EXISTS role VARCHAR",)


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new table, add the new nullable column; say what was done."""
    done = [f"{name} {what or 'present'}" for name, what in complete_tables(conn, TABLES).items()]
    for sql in ALTERS:
        conn.execute(sql)
        done.append(sql.removeprefix("ALTER TABLE ").replace(" ADD COLUMN IF NOT EXISTS ", " + "))
    return "; ".join(done)


TABLES: tuple[FrozenTable, ...] = (
    FrozenTable(
        "royalties.dispute_activity",
        (
            ("dispute_id", "VARCHAR", False),
            ("seq", "BIGINT", False),
            ("action", "VARCHAR", False),
            ("status", "VARCHAR", True),
            ("resolution", "VARCHAR", True),
            ("role", "VARCHAR", True),
            ("actor", "VARCHAR", False),
            ("acted_at", "TIMESTAMP", False),
            ("note", "VARCHAR", True),
            ("evidence_sha256", "VARCHAR", True),
            ("evidence_name", "VARCHAR", True),
            ("evidence_type", "VARCHAR", True),
            ("evidence_bytes", "BIGINT", True),
            ("source_file", "VARCHAR", True),
            ("source_row", "BIGINT", True),
        ),
        primary_key=("dispute_id", "seq"),
        constraints=(
            (
                "dispute_activity_action_allowed",
                "CONSTRAINT dispute_activity_action_allowed CHECK (action IN ('step', 'comment', 'attach'))",
            ),
        ),
        pg_triggers=(),
    ),
)
