"""The Dagster resource that hands the warehouse client to assets."""

from __future__ import annotations

from dagster import ConfigurableResource

from integrations.warehouse.client import Warehouse
from integrations.warehouse.urls import connection_url


class WarehouseResource(ConfigurableResource):
    """The analytical warehouse: `duckdb:///path` (embedded default) or `postgresql://…` (production).

    `password`, when set (from `BACKBEAT_WAREHOUSE_PASSWORD`), replaces the URL's and may hold any character;
    PostgreSQL sessions run in UTC.
    """

    url: str
    password: str = ""

    def client(self) -> Warehouse:
        return Warehouse(connection_url(self.url, self.password or None))
