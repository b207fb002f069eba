"""The warehouse: DuckDB by default, PostgreSQL in production.

`WarehouseResource` (the Dagster resource) is imported on first use, so plain-Python callers (the CLI, the
outreach sender's subprocesses, benches) do not pay Dagster's import time.
"""

from typing import TYPE_CHECKING, Any

from integrations.warehouse.client import Warehouse, WarehouseConnection
from integrations.warehouse.tables import Column, Table, table

if TYPE_CHECKING:
    from integrations.warehouse.resource import WarehouseResource

__all__ = ["Column", "Table", "Warehouse", "WarehouseConnection", "WarehouseResource", "table"]


def __getattr__(name: str) -> Any:
    if name == "WarehouseResource":
        from integrations.warehouse.resource import WarehouseResource

        return WarehouseResource
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
