"""Warehouse tables declared once, in portable types, so DuckDB and PostgreSQL get the same schema."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

SQL_TYPES = {
    "text": "VARCHAR",
    "bigint": "BIGINT",
    "double": "DOUBLE PRECISION",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "decimal": "DECIMAL(18, 6)",
}

POLARS_TYPES: dict[str, pl.DataType] = {
    "text": pl.Utf8(),
    "bigint": pl.Int64(),
    "double": pl.Float64(),
    "boolean": pl.Boolean(),
    "date": pl.Date(),
    "timestamp": pl.Datetime("us"),
    "decimal": pl.Decimal(18, 6),
}


@dataclass(frozen=True)
class Column:
    """A column: its name, portable type (a key of SQL_TYPES) and what it means."""

    name: str
    type: str
    description: str = ""
    nullable: bool = True

    def __post_init__(self) -> None:
        if self.type not in SQL_TYPES:
            raise ValueError(f"column {self.name}: unknown type {self.type!r}")


@dataclass(frozen=True)
class Check:
    """A named CHECK constraint in portable SQL (the same text runs on DuckDB and PostgreSQL)."""

    name: str
    sql: str


@dataclass(frozen=True)
class ForeignKey:
    """`columns` of this table must name an existing row of `references` (its `ref_columns`)."""

    name: str
    columns: tuple[str, ...]
    references: Table
    ref_columns: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """A warehouse table owned by one asset; timestamps are naive UTC.

    Naive UTC because DuckDB's TIMESTAMPTZ renders in the session's time zone and PostgreSQL's in the server's:
    a naive column read back is the same value on both engines and in Parquet; every writer converts an aware
    time to UTC before it stores it.

    `checks` and `foreign_keys` are created with the table; on PostgreSQL `ensure` also adds them to an older
    table (NOT VALID: new rows are checked, old ones are left to the owner's checks). DuckDB cannot add a
    constraint to an existing table, so there the owning domain keeps a blocking check for what they state.
    `append_only` tables refuse UPDATE, DELETE and TRUNCATE on PostgreSQL (a trigger), except an UPDATE that
    only fills `seal_columns` that were null (sealing rows written before those columns existed).
    """

    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    description: str = ""
    checks: tuple[Check, ...] = ()
    foreign_keys: tuple[ForeignKey, ...] = ()
    append_only: bool = False
    seal_columns: tuple[str, ...] = ()

    @property
    def qualified_name(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def polars_schema(self) -> dict[str, pl.DataType]:
        return {c.name: POLARS_TYPES[c.type] for c in self.columns}

    def create_sql(self) -> str:
        cols = [f"{c.name} {SQL_TYPES[c.type]}{'' if c.nullable else ' NOT NULL'}" for c in self.columns]
        if self.primary_key:
            cols.append(f"PRIMARY KEY ({', '.join(self.primary_key)})")
        cols += [self.constraint_sql(c) for c in (*self.checks, *self.foreign_keys)]
        return f"CREATE TABLE IF NOT EXISTS {self.qualified_name} ({', '.join(cols)})"

    def constraint_sql(self, constraint: Check | ForeignKey) -> str:
        """`CONSTRAINT name CHECK (...)` or `CONSTRAINT name FOREIGN KEY (...) REFERENCES ...`."""
        if isinstance(constraint, Check):
            return f"CONSTRAINT {constraint.name} CHECK ({constraint.sql})"
        return (
            f"CONSTRAINT {constraint.name} FOREIGN KEY ({', '.join(constraint.columns)}) "
            f"REFERENCES {constraint.references.qualified_name} ({', '.join(constraint.ref_columns)})"
        )

    def conform(self, frame: pl.DataFrame) -> pl.DataFrame:
        """The frame with exactly this table's columns, in order and types; a missing column is an error."""
        missing = [c for c in self.column_names if c not in frame.columns]
        if missing:
            raise ValueError(f"{self.qualified_name}: frame lacks columns {missing}")
        return frame.select([pl.col(n).cast(t) for n, t in self.polars_schema.items()])

    def empty_frame(self) -> pl.DataFrame:
        return pl.DataFrame(schema=self.polars_schema)

    def from_rows(self, rows: list[dict]) -> pl.DataFrame:
        """Rows (dicts that may carry extra keys) as a frame of this table's columns and types."""
        return self.conform(pl.DataFrame(rows, infer_schema_length=None)) if rows else self.empty_frame()

    def concat(self, frames: list[pl.DataFrame]) -> pl.DataFrame:
        return pl.concat(frames) if frames else self.empty_frame()

    def column_descriptions(self) -> dict[str, str]:
        return {c.name: c.description for c in self.columns}


def table(
    schema: str,
    name: str,
    *columns: Column,
    primary_key: tuple[str, ...] = (),
    description: str = "",
    checks: tuple[Check, ...] = (),
    foreign_keys: tuple[ForeignKey, ...] = (),
    append_only: bool = False,
    seal_columns: tuple[str, ...] = (),
) -> Table:
    """Shorthand used by the domain `tables.py` modules."""
    return Table(
        schema, name, tuple(columns), primary_key, description, checks, foreign_keys, append_only, seal_columns
    )
