"""Publish each warehouse `Table` declaration as its asset's `dagster/column_schema`, so the UI shows the types
and descriptions of tables written from Python as it does for dbt models."""

from dagster import (
    AssetsDefinition,
    AssetSpec,
    Definitions,
    TableColumn,
    TableColumnConstraints,
    TableSchema,
    map_asset_specs,
)
from dagster_shared.record import replace

from assets.common.table_specs import table_key
from backbeat.registry import SOURCE_TABLES
from integrations.warehouse import Table

COLUMN_SCHEMA = "dagster/column_schema"


def column_schema(table: Table) -> TableSchema:
    """The table's columns as Dagster sees them: name, portable type, description, and NOT NULL."""
    return TableSchema(
        columns=[
            TableColumn(
                c.name,
                c.type,
                description=c.description or None,
                constraints=TableColumnConstraints(nullable=c.nullable),
            )
            for c in table.columns
        ]
    )


SCHEMAS = {table_key(t): column_schema(t) for t in SOURCE_TABLES}


def with_column_schemas(defs: Definitions) -> Definitions:
    """`defs` with every asset that owns a declared table carrying its columns; keys and other metadata stay,
    and a schema an asset already publishes is kept."""

    def attach(spec: AssetSpec) -> AssetSpec:
        schema = SCHEMAS.get(spec.key)
        if schema is None or COLUMN_SCHEMA in spec.metadata:
            return spec
        return spec.merge_attributes(metadata={COLUMN_SCHEMA: schema})

    # As `Definitions.map_asset_specs` does, without its preview warning (tests/orchestration/test_warnings.py).
    specs = [d for d in defs.assets or [] if isinstance(d, (AssetsDefinition, AssetSpec))]
    others = [d for d in defs.assets or [] if not isinstance(d, (AssetsDefinition, AssetSpec))]
    return replace(defs, assets=[*map_asset_specs(attach, specs), *others])
