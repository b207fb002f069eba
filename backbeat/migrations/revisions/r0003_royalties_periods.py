# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision 0003: month closing for royalty statements (issue 17's session).

New tables royalties.periods, royalties.period_events (append-only) and royalties.frozen_statements
(append-only); royalties.party_statements gains `status` and royalties.statement_lines `corrects_period`
(both nullable: rows written before are left null).

Frozen: written from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = "0003"
DESCRIPTION = (
    "royalties: closed periods (periods, period_events, frozen_statements), statement status and corrected month"
)
ALTERS: tuple[str, ...] = (
    "ALTER TABLE royalties.party_statements ADD COLUMN IF NOT EXISTS status VARCHAR",
    "ALTER TABLE royalties.statement_lines ADD COLUMN IF NOT EXISTS corrects_period VARCHAR",
)


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new tables, add the new nullable columns; say what was done."""
    done = [f"{name} {what or 'present'}" for name, what in complete_tables(conn, TABLES).items()]
    for sql in ALTERS:
        conn.execute(sql)
        done.append(sql.removeprefix("ALTER TABLE ").replace(" ADD COLUMN IF NOT EXISTS ", " + "))
    return "; ".join(done)


TABLES: tuple[FrozenTable, ...] = (
    FrozenTable(
        "royalties.periods",
        (
            ("period", "VARCHAR", False),
            ("status", "VARCHAR", True),
            ("version", "BIGINT", True),
            ("closed_by", "VARCHAR", True),
            ("closed_at", "TIMESTAMP", True),
            ("reopened_by", "VARCHAR", True),
            ("reopened_at", "TIMESTAMP", True),
            ("reopen_reason", "VARCHAR", True),
            ("statements_sha256", "VARCHAR", True),
        ),
        primary_key=("period",),
        constraints=(
            ("periods_status_allowed", "CONSTRAINT periods_status_allowed CHECK (status IN ('closed', 'open'))"),
        ),
        pg_triggers=(),
    ),
    FrozenTable(
        "royalties.period_events",
        (
            ("period", "VARCHAR", False),
            ("seq", "BIGINT", False),
            ("action", "VARCHAR", False),
            ("actor", "VARCHAR", False),
            ("acted_at", "TIMESTAMP", False),
            ("reason", "VARCHAR", True),
            ("statements_sha256", "VARCHAR", True),
        ),
        primary_key=("period", "seq"),
        constraints=(
            (
                "period_events_action_allowed",
                "CONSTRAINT period_events_action_allowed CHECK (action IN ('close', 'reopen'))",
            ),
        ),
        pg_triggers=(
            "CREATE OR REPLACE FUNCTION royalties.period_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF false THEN RETURN NEW; END IF; RAISE EXCEPTION '% on %.% refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$",
            "CREATE OR REPLACE TRIGGER period_events_append_only BEFORE UPDATE OR DELETE ON royalties.period_events FOR EACH ROW EXECUTE FUNCTION royalties.period_events_append_only()",
            "CREATE OR REPLACE TRIGGER period_events_no_truncate BEFORE TRUNCATE ON royalties.period_events FOR EACH STATEMENT EXECUTE FUNCTION royalties.period_events_append_only()",
        ),
    ),
    FrozenTable(
        "royalties.frozen_statements",
        (
            ("period", "VARCHAR", False),
            ("version", "BIGINT", False),
            ("party_id", "VARCHAR", False),
            ("currency", "VARCHAR", False),
            ("document", "VARCHAR", False),
            ("document_sha256", "VARCHAR", True),
            ("frozen_at", "TIMESTAMP", True),
        ),
        primary_key=("period", "version", "party_id", "currency"),
        constraints=(),
        pg_triggers=(
            "CREATE OR REPLACE FUNCTION royalties.frozen_statements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN IF false THEN RETURN NEW; END IF; RAISE EXCEPTION '% on %.% refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege'; END $$",
            "CREATE OR REPLACE TRIGGER frozen_statements_append_only BEFORE UPDATE OR DELETE ON royalties.frozen_statements FOR EACH ROW EXECUTE FUNCTION royalties.frozen_statements_append_only()",
            "CREATE OR REPLACE TRIGGER frozen_statements_no_truncate BEFORE TRUNCATE ON royalties.frozen_statements FOR EACH STATEMENT EXECUTE FUNCTION royalties.frozen_statements_append_only()",
        ),
    ),
)
