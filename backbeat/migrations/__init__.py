"""Versioned schema migrations for the warehouse (DuckDB and PostgreSQL): numbered revisions and a small runner.

Why not Alembic: Alembic drives a database through a SQLAlchemy dialect, and DuckDB has none installed
(`duckdb_engine` would be a new package), while the warehouse client speaks DuckDB and psycopg2 directly. Our
tables are declared once in portable types (`integrations/warehouse/tables.py`), every revision so far is plain
DDL both engines accept, and what Alembic would add (autogenerate, branches, downgrades) we do not use: the
ledger is append-only and nothing is ever downgraded. So a revision is a module with an `upgrade(conn)` run in
one warehouse transaction (DuckDB and PostgreSQL both have transactional DDL), recorded in
`backbeat_meta.schema_version`.

- `revisions/`: 0001 is the frozen schema of release d6a27fb, later ones the changes since.
- `runner`: `backbeat db upgrade` / `backbeat db status`.
- `gate`: stops a process whose code needs a newer schema; stamps a warehouse the code creates at head.
- `declared`: every table the code declares (the test compares it with an upgraded empty warehouse).
"""

from backbeat.migrations.gate import SchemaVersionError, check_schema, install_schema_gate
from backbeat.migrations.revisions import HEAD, REVISIONS
from backbeat.migrations.runner import schema_state, status_lines, upgrade

__all__ = [
    "HEAD",
    "REVISIONS",
    "SchemaVersionError",
    "check_schema",
    "install_schema_gate",
    "schema_state",
    "status_lines",
    "upgrade",
]
