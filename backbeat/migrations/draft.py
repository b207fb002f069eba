"""Draft the next revision: `python -m backbeat.migrations.draft 0006 contract_terms "what it adds"`.

Upgrades a scratch DuckDB through every revision, compares it with the declarations and prints a revision module
that creates the declared tables no revision creates yet and adds the declared nullable columns missing from
existing tables, as literal DDL. Review it, save it as `revisions/r<id>_<slug>.py`, list it in
`revisions/__init__.py`: from then on it is frozen (never re-drafted). What a draft cannot express (a changed
type, a new NOT NULL column, a dropped column, a new constraint on an existing table) is refused with the list,
to be written by hand.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from backbeat.migrations.declared import declared_tables
from backbeat.migrations.runner import upgrade
from integrations.warehouse import Table, Warehouse
from integrations.warehouse.client import append_only_trigger_sql
from integrations.warehouse.tables import SQL_TYPES, Check, ForeignKey


def pending_changes(tables: list[Table], migrated_url: str) -> tuple[list[Table], list[str], list[str]]:
    """(declared tables missing from the migrated warehouse, ALTERs for missing nullable columns, what a draft
    cannot do)."""
    schemas = sorted({t.schema for t in tables})
    with Warehouse(migrated_url, check_schema=False).connect() as conn:
        rows = conn.query(
            "SELECT table_schema || '.' || table_name AS t, column_name FROM information_schema.columns "
            f"WHERE table_schema IN ({', '.join('?' for _ in schemas)})",
            schemas,
        ).rows()
    existing: dict[str, set[str]] = {}
    for qualified, column in rows:
        existing.setdefault(qualified, set()).add(column)
    new, alters, by_hand = [], [], []
    for t in tables:
        have = existing.get(t.qualified_name)
        if have is None:
            new.append(t)
            continue
        for c in t.columns:
            if c.name in have:
                continue
            if not c.nullable:
                by_hand.append(f"{t.qualified_name}.{c.name} is NOT NULL: add it with a default or a backfill")
            alters.append(f"ALTER TABLE {t.qualified_name} ADD COLUMN IF NOT EXISTS {c.name} {SQL_TYPES[c.type]}")
        by_hand += [f"{t.qualified_name}.{n} is no longer declared" for n in sorted(have - set(t.column_names))]
    return new, alters, by_hand


def frozen_literal(tables: list[Table]) -> str:
    """`TABLES = (FrozenTable(...), ...)` for `tables`, in engine SQL."""
    out = []
    for t in tables:
        columns = "".join(f"{(c.name, SQL_TYPES[c.type], c.nullable)!r}, " for c in t.columns)
        named: list[Check | ForeignKey] = [*t.checks, *t.foreign_keys]
        constraints = "".join(f"{(c.name, t.constraint_sql(c))!r}, " for c in named)
        triggers = "".join(f"{s!r}, " for s in append_only_trigger_sql(t)) if t.append_only else ""
        out.append(
            f"    FrozenTable({t.qualified_name!r}, ({columns}), primary_key={t.primary_key!r}, "
            f"constraints=({constraints}), pg_triggers=({triggers})),"
        )
    return "TABLES: tuple[FrozenTable, ...] = (\n" + "\n".join(out) + "\n)\n"


def draft(revision: str, description: str, tables: list[Table], migrated_url: str) -> str:
    """The text of revision `revision` bringing `migrated_url`'s schema to `tables`."""
    new, alters, by_hand = pending_changes(tables, migrated_url)
    if by_hand:
        raise ValueError("write this revision by hand:\n" + "\n".join(by_hand))
    if not new and not alters:
        raise ValueError("the declarations equal the last revision: nothing to draft")
    return f'''# ruff: noqa: E501  (frozen SQL, as declared when the revision was written)
"""Revision {revision}: {description}.

Frozen: drafted by `backbeat.migrations.draft` from the declarations of the day, never regenerated.
"""

from __future__ import annotations

from backbeat.migrations.frozen import FrozenTable, complete_tables
from integrations.warehouse import WarehouseConnection

REVISION = {revision!r}
DESCRIPTION = {description!r}
ALTERS: tuple[str, ...] = ({"".join(f"{a!r}, " for a in alters)})


def upgrade(conn: WarehouseConnection) -> str:
    """Create the new tables, add the new nullable columns; say what was done."""
    done = [f"{{name}} {{what or 'present'}}" for name, what in complete_tables(conn, TABLES).items()]
    for sql in ALTERS:
        conn.execute(sql)
        done.append(sql.removeprefix("ALTER TABLE ").replace(" ADD COLUMN IF NOT EXISTS ", " + "))
    return "; ".join(done)


{frozen_literal(new)}'''


def main(argv: list[str]) -> None:
    if len(argv) != 3:
        raise SystemExit(__doc__)
    revision, slug, description = argv
    with tempfile.TemporaryDirectory() as scratch:
        url = f"duckdb:///{Path(scratch) / 'migrated.duckdb'}"
        upgrade(url, echo=lambda _: None)
        print(f"# backbeat/migrations/revisions/r{revision}_{slug}.py")
        print(draft(revision, description, declared_tables(), url))


if __name__ == "__main__":
    main(sys.argv[1:])
