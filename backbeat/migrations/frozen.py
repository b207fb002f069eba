"""A table as a past release declared it, frozen as engine SQL, and how to bring a warehouse up to it.

Revision 0001 is a list of these. They are literal data, never built from the live declarations (which move
on), and the SQL they run is written here once: a later change to `integrations/warehouse/tables.py` cannot
change what an old revision does.
"""

from __future__ import annotations

from dataclasses import dataclass

from integrations.warehouse import WarehouseConnection


@dataclass(frozen=True)
class FrozenTable:
    """Columns as (name, SQL type, nullable); constraints as (name, `CONSTRAINT … CHECK/FOREIGN KEY …`);
    `pg_triggers`: the statements making an append-only table refuse changes on PostgreSQL."""

    qualified_name: str
    columns: tuple[tuple[str, str, bool], ...]
    primary_key: tuple[str, ...] = ()
    constraints: tuple[tuple[str, str], ...] = ()
    pg_triggers: tuple[str, ...] = ()

    @property
    def schema(self) -> str:
        return self.qualified_name.split(".")[0]

    @property
    def name(self) -> str:
        return self.qualified_name.split(".")[1]

    def create_sql(self) -> str:
        parts = [f"{n} {t}{'' if nullable else ' NOT NULL'}" for n, t, nullable in self.columns]
        if self.primary_key:
            parts.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        parts += [sql for _, sql in self.constraints]
        return f"CREATE TABLE IF NOT EXISTS {self.qualified_name} ({', '.join(parts)})"


def existing_columns(conn: WarehouseConnection, tables: tuple[FrozenTable, ...]) -> dict[str, set[str]]:
    """The columns each of `tables` has in the warehouse (one query); a missing table is absent."""
    schemas = sorted({t.schema for t in tables})
    frame = conn.query(
        "SELECT table_schema || '.' || table_name AS t, column_name FROM information_schema.columns "
        f"WHERE table_schema IN ({', '.join('?' for _ in schemas)})",
        schemas,
    )
    found: dict[str, set[str]] = {}
    for qualified, column in frame.rows():
        found.setdefault(qualified, set()).add(column)
    return found


def complete_tables(conn: WarehouseConnection, tables: tuple[FrozenTable, ...]) -> dict[str, str]:
    """`complete_table` for each of `tables`, in order: what was done to each (nothing for a revision that only
    alters existing tables)."""
    if not tables:
        return {}
    existing = existing_columns(conn, tables)
    return {t.qualified_name: complete_table(conn, t, existing.get(t.qualified_name, set())) for t in tables}


def complete_table(conn: WarehouseConnection, table: FrozenTable, existing: set[str]) -> str:
    """Create `table` if missing (`existing`: its columns now, empty if absent), else add the nullable columns
    and (PostgreSQL) the guards it lacks.

    This is what the release's `ensure` did to a table on first use, so a data directory where the release
    created only some tables, or an older table it never touched again, ends up with the release's schema.
    Returns "created", "added a, b", "guarded" or "" (nothing to do).
    """
    if not existing:
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
        conn.execute(table.create_sql())
        if conn.kind == "postgres":
            for sql in table.pg_triggers:
                conn.execute(sql)
        return "created"
    added = []
    for name, sql_type, nullable in table.columns:
        if name in existing:
            continue
        if not nullable:
            raise RuntimeError(
                f"{table.qualified_name} lacks NOT NULL column {name}: the table is older than any release "
                "this upgrade knows; restore it from the release's export or add the column by hand"
            )
        conn.execute(f"ALTER TABLE {table.qualified_name} ADD COLUMN IF NOT EXISTS {name} {sql_type}")
        added.append(name)
    guarded = conn.kind == "postgres" and _add_pg_guards(conn, table)
    return ", ".join(filter(None, [f"added {', '.join(added)}" if added else "", "guarded" if guarded else ""]))


def _add_pg_guards(conn: WarehouseConnection, table: FrozenTable) -> bool:
    have = set(
        conn.query(
            "SELECT conname AS name FROM pg_constraint WHERE conrelid = CAST(? AS regclass) UNION ALL "
            "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(? AS regclass)",
            [table.qualified_name, table.qualified_name],
        )["name"].to_list()
    )
    changed = False
    for name, sql in table.constraints:
        if name not in have:  # NOT VALID: new rows are checked, existing ones are left as they are
            conn.execute(f"ALTER TABLE {table.qualified_name} ADD {sql} NOT VALID")
            changed = True
    if table.pg_triggers and f"{table.name}_append_only" not in have:
        for sql in table.pg_triggers:
            conn.execute(sql)
        changed = True
    return changed
