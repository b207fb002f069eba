"""The Dagster resource that hands the warehouse client to assets."""

from __future__ import annotations

from dagster import ConfigurableResource

from integrations.warehouse.client import Warehouse


class WarehouseResource(ConfigurableResource):
    """The analytical warehouse: `duckdb:///path` (embedded default) or `postgresql://…` (production)."""

    url: str

    def client(self) -> Warehouse:
        return Warehouse(self.url)
