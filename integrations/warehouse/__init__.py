"""The warehouse: DuckDB by default, PostgreSQL in production."""

from integrations.warehouse.client import Warehouse, WarehouseConnection
from integrations.warehouse.resource import WarehouseResource
from integrations.warehouse.tables import Column, Table, table

__all__ = ["Column", "Table", "Warehouse", "WarehouseConnection", "WarehouseResource", "table"]
