"""A small warehouse client over DuckDB (embedded default) or PostgreSQL (production).

SQL passed to it uses `?` placeholders; the PostgreSQL side translates them. Every write happens in one
transaction, so a failed write leaves what was stored before untouched.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import polars as pl

from integrations.warehouse.tables import SQL_TYPES, Table
from integrations.warehouse.urls import duckdb_path, warehouse_kind

DUCKDB_LOCK_WAIT_S = 120.0
# Quoted strings, quoted identifiers and comments (where a `?` is text), or a `?` placeholder.
_PG_SQL_TOKENS = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|/\*.*?\*/|\?", re.S)
_PG_DDL_LOCK = 0x6261636B62656174  # advisory lock key serialising first-time CREATE SCHEMA/TABLE
PG_DDL_LOCK = _PG_DDL_LOCK
"""PostgreSQL advisory lock key that `ensure` takes before DDL; schema migrations take it too."""

SchemaGate = Callable[["WarehouseConnection", str], None]
"""Checks (and may stamp) a warehouse's schema version, given an open transaction and the warehouse URL; raises to
stop whatever was about to use the warehouse."""
_schema_gate: SchemaGate | None = None
_gate_lock = threading.Lock()
_gate_passed: set[str] = set()
# DuckDB keeps one database instance per file and process; threads that open the same file at the same moment race
# to attach it ("Unique file handle conflict ... already attached"), so a process opens one DuckDB file at a time.
_duckdb_open_lock = threading.Lock()


def set_schema_gate(gate: SchemaGate | None) -> None:
    """Install `gate`: every `Warehouse` (unless made with `check_schema=False`) calls it once per process and URL,
    in a transaction of its own before the first one (while it raises, every transaction raises), and `ensure`
    calls it again in a transaction about to create a table. None removes it.

    The gate lives with the schema migrations (the core), which the client must not import.
    """
    global _schema_gate
    with _gate_lock:
        _schema_gate = gate
        _gate_passed.clear()


def schema_gate() -> SchemaGate | None:
    """The installed schema gate, if any (tests restore it after installing their own)."""
    return _schema_gate


def append_only_trigger_sql(table: Table) -> list[str]:
    """PostgreSQL statements making `table` refuse UPDATE, DELETE and TRUNCATE (row and statement triggers).

    The one UPDATE let through fills `seal_columns` that were all null and changes nothing else: sealing rows
    written before those columns existed, once.
    """
    function = f"{table.schema}.{table.name}_append_only"
    if table.seal_columns:
        cols = ", ".join(f"'{c}'" for c in table.seal_columns)
        sealing = (
            f"TG_OP = 'UPDATE' AND {' AND '.join(f'OLD.{c} IS NULL' for c in table.seal_columns)} AND "
            f"(to_jsonb(OLD) - ARRAY[{cols}]) = (to_jsonb(NEW) - ARRAY[{cols}])"
        )
    else:
        sealing = "false"
    return [
        f"CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        f"IF {sealing} THEN RETURN NEW; END IF; "
        f"RAISE EXCEPTION '% on %.% refused: the table is append-only', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME "
        f"USING ERRCODE = 'insufficient_privilege'; END $$",
        f"CREATE OR REPLACE TRIGGER {table.name}_append_only BEFORE UPDATE OR DELETE ON {table.qualified_name} "
        f"FOR EACH ROW EXECUTE FUNCTION {function}()",
        f"CREATE OR REPLACE TRIGGER {table.name}_no_truncate BEFORE TRUNCATE ON {table.qualified_name} "
        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()",
    ]


class WarehouseConnection:
    """One open transaction on the warehouse.

    `gate_url`: the warehouse's URL when the schema gate applies; `ensure` then runs the gate (once per
    transaction) before it creates a table, so a warehouse dropped and recreated under a URL this process has
    already checked is stamped in the same transaction that creates its first table.
    """

    def __init__(self, kind: str, raw: Any, gate_url: str | None = None) -> None:
        self.kind = kind
        self.raw = raw
        self._gate_url = gate_url

    def _sql(self, sql: str) -> str:
        if self.kind != "postgres":
            return sql
        # psycopg2 reads every % (even inside quotes) as its own; only a bare ? is a placeholder.
        escaped = sql.replace("%", "%%")
        return _PG_SQL_TOKENS.sub(lambda m: "%s" if m.group(0) == "?" else m.group(0), escaped)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        if self.kind == "duckdb":
            self.raw.execute(sql, list(params))
        else:
            with self.raw.cursor() as cur:
                cur.execute(self._sql(sql), tuple(params))

    def query(self, sql: str, params: Sequence[Any] = (), schema: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
        if self.kind == "duckdb":
            frame = pl.from_arrow(self.raw.sql(sql, params=list(params) or None).to_arrow_table())
        else:
            with self.raw.cursor() as cur:
                cur.execute(self._sql(sql), tuple(params))
                names = [d[0] for d in cur.description]
                rows = cur.fetchall()
            frame = pl.DataFrame(rows, schema=names, orient="row", infer_schema_length=None)
        if schema:
            frame = frame.select([pl.col(n).cast(t) for n, t in schema.items()])
        return frame

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        frame = self.query(sql, params)
        return frame.item(0, 0) if frame.height else None

    def ensure(self, table: Table) -> None:
        """Create `table` (and the tables it references) if missing; add columns and guards it lacks.

        A table created before a nullable column was declared gets the column (ALTER TABLE … ADD COLUMN, both
        engines). On PostgreSQL an older table also gets the declared constraints (NOT VALID) and, when
        `append_only`, the trigger refusing UPDATE/DELETE/TRUNCATE.
        """
        for fk in table.foreign_keys:
            if fk.references is not table:
                self.ensure(fk.references)
        existing = self._column_names(table)
        if self.kind == "postgres" and (not existing or len(existing) < len(table.columns)):
            # Concurrent CREATE ... IF NOT EXISTS can still collide in PostgreSQL's catalogs
            # (UniqueViolation on pg_namespace/pg_type); serialise the first creation.
            self.execute("SELECT pg_advisory_xact_lock(?)", [_PG_DDL_LOCK])
        if not existing:
            gate = _schema_gate
            if gate is not None and self._gate_url is not None:
                gate(self, self._gate_url)
                self._gate_url = None  # once per transaction
            self.execute(f"CREATE SCHEMA IF NOT EXISTS {table.schema}")
            self.execute(table.create_sql())
        else:
            for column in table.columns:
                if column.name not in existing:
                    if not column.nullable:
                        raise ValueError(f"{table.qualified_name} lacks NOT NULL column {column.name}: migrate it")
                    self.execute(
                        f"ALTER TABLE {table.qualified_name} ADD COLUMN IF NOT EXISTS {column.name} "
                        f"{SQL_TYPES[column.type]}"
                    )
        if self.kind == "postgres" and (table.checks or table.foreign_keys or table.append_only):
            self._ensure_pg_guards(table)

    def _column_names(self, table: Table) -> set[str]:
        return set(
            self.query(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = ? AND table_name = ?",
                [table.schema, table.name],
            )["column_name"].to_list()
        )

    def _pg_guard_names(self, table: Table) -> set[str]:
        return set(
            self.query(
                "SELECT conname AS name FROM pg_constraint WHERE conrelid = CAST(? AS regclass) UNION ALL "
                "SELECT tgname FROM pg_trigger WHERE tgrelid = CAST(? AS regclass)",
                [table.qualified_name, table.qualified_name],
            )["name"].to_list()
        )

    def _ensure_pg_guards(self, table: Table) -> None:
        """PostgreSQL: add the table's missing constraints (NOT VALID) and its append-only triggers."""
        wanted = {c.name for c in (*table.checks, *table.foreign_keys)}
        if table.append_only:
            wanted.add(f"{table.name}_append_only")
        if wanted <= self._pg_guard_names(table):
            return
        self.execute("SELECT pg_advisory_xact_lock(?)", [_PG_DDL_LOCK])
        have = self._pg_guard_names(table)  # another process may have added them while we waited
        for constraint in (*table.checks, *table.foreign_keys):
            if constraint.name not in have:
                self.execute(f"ALTER TABLE {table.qualified_name} ADD {table.constraint_sql(constraint)} NOT VALID")
        if table.append_only and f"{table.name}_append_only" not in have:
            for sql in append_only_trigger_sql(table):
                self.execute(sql)

    def insert(self, table: Table, frame: pl.DataFrame) -> int:
        frame = table.conform(frame)
        if frame.is_empty():
            return 0
        cols = ", ".join(table.column_names)
        if self.kind == "duckdb":
            self.raw.register("_backbeat_incoming", frame.to_arrow())
            try:
                self.raw.execute(f"INSERT INTO {table.qualified_name} ({cols}) SELECT {cols} FROM _backbeat_incoming")
            finally:
                # In an aborted transaction unregister fails too; keep the INSERT's own error.
                with suppress(Exception):
                    self.raw.unregister("_backbeat_incoming")
        else:
            from psycopg2.extras import execute_values

            with self.raw.cursor() as cur:
                execute_values(
                    cur, f"INSERT INTO {table.qualified_name} ({cols}) VALUES %s", frame.rows(), page_size=2000
                )
        return frame.height


class Warehouse:
    """Opens short transactions on the warehouse at `url` (`duckdb:///path` or `postgresql://...`)."""

    def __init__(self, url: str, *, check_schema: bool = True) -> None:
        self.url = url
        self.kind = warehouse_kind(url)
        self.check_schema = check_schema  # False: the migrations' own access, before and while they upgrade

    @contextmanager
    def connect(self) -> Iterator[WarehouseConnection]:
        raw = self._open()
        try:
            if self.check_schema and _schema_gate is not None and self.url not in _gate_passed:
                self._pass_schema_gate(raw)
            if self.kind == "duckdb":
                raw.execute("BEGIN TRANSACTION")
            conn = WarehouseConnection(self.kind, raw, self.url if self.check_schema else None)
            try:
                yield conn
            except BaseException:
                raw.rollback()
                raise
            raw.commit()
        finally:
            raw.close()

    def _pass_schema_gate(self, raw: Any) -> None:
        """Run the gate in a transaction of its own on the connection just opened (no second open)."""
        with _gate_lock:  # threads of a process wait for the first check instead of racing it
            gate = _schema_gate
            if gate is None or self.url in _gate_passed:
                return
            if self.kind == "duckdb":
                raw.execute("BEGIN TRANSACTION")
            try:
                gate(WarehouseConnection(self.kind, raw), self.url)
            except BaseException:
                raw.rollback()
                raise
            raw.commit()
            _gate_passed.add(self.url)

    def _open(self) -> Any:
        if self.kind == "postgres":
            import psycopg2

            return psycopg2.connect(self.url.replace("postgresql+psycopg2://", "postgresql://"))
        import duckdb

        path = duckdb_path(self.url)
        path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + DUCKDB_LOCK_WAIT_S
        delay = 0.05
        while True:
            try:
                with _duckdb_open_lock:
                    return duckdb.connect(str(path))
            except duckdb.IOException as exc:  # another process holds the single-writer lock
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def ensure(self, *tables: Table) -> None:
        with self.connect() as conn:
            for t in tables:
                conn.ensure(t)

    def query(self, sql: str, params: Sequence[Any] = (), schema: dict[str, pl.DataType] | None = None) -> pl.DataFrame:
        with self.connect() as conn:
            return conn.query(sql, params, schema)

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with self.connect() as conn:
            return conn.scalar(sql, params)

    def read(self, table: Table, where: str = "", params: Sequence[Any] = ()) -> pl.DataFrame:
        """Rows of `table` (all, or those matching `where`), typed as the table declares; empty if absent."""
        with self.connect() as conn:
            conn.ensure(table)
            clause = f" WHERE {where}" if where else ""
            sql = f"SELECT {', '.join(table.column_names)} FROM {table.qualified_name}{clause}"
            return conn.query(sql, params, table.polars_schema)

    def replace(self, table: Table, frame: pl.DataFrame, where: str = "", params: Sequence[Any] = ()) -> int:
        """Atomically delete the rows matching `where` (all rows when empty) and insert `frame`.

        This is how a partition overwrites exactly its own window: re-running it is idempotent.
        """
        with self.connect() as conn:
            conn.ensure(table)
            conn.execute(f"DELETE FROM {table.qualified_name}" + (f" WHERE {where}" if where else ""), params)
            return conn.insert(table, frame)
