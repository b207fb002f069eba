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
class Table:
    """A warehouse table owned by one asset; timestamps are naive UTC."""

    schema: str
    name: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    description: str = ""

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
        return f"CREATE TABLE IF NOT EXISTS {self.qualified_name} ({', '.join(cols)})"

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


def table(schema: str, name: str, *columns: Column, primary_key: tuple[str, ...] = (), description: str = "") -> Table:
    """Shorthand used by the domain `tables.py` modules."""
    return Table(schema, name, tuple(columns), primary_key, description)
