"""Reading what parts of the graph that may not have run yet wrote: summaries and funnels say nothing about them."""

from __future__ import annotations

from typing import Any

import polars as pl

from integrations.warehouse import Warehouse


def query_if_built(warehouse: Warehouse, sql: str, params: list[Any] | None = None) -> pl.DataFrame | None:
    """The query's rows, or None when a table it reads does not exist yet (that part of the graph has not run)."""
    try:
        return warehouse.query(sql, params or [])
    except Exception:  # noqa: BLE001 - a missing table differs by engine (DuckDB CatalogException, psycopg2 error)
        return None
