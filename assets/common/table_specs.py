"""Asset specs for warehouse tables an asset writes beside its main table, so each is a real asset of its domain.

dbt reads these tables as sources; declaring them as extra outputs of their writer (same key as the source)
gives them a group, a description and columns in the UI instead of an ungrouped stub.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from dagster import AssetDep, AssetKey, AssetsDefinition, AssetSpec, TableColumn, TableSchema

from integrations.warehouse import Table


def table_key(table: Table) -> AssetKey:
    """A table's asset key: `[schema, name]`, the key dagster-dbt gives its source."""
    return AssetKey([table.schema, table.name])


def table_spec(
    table: Table,
    group: str,
    written_by: str,
    kinds: set[str],
    deps: Iterable[AssetDep | AssetKey | AssetsDefinition | Sequence[str]] = (),
) -> AssetSpec:
    """`table` as an output of the asset that writes it: its grain (the table's description), its writer, columns."""
    return AssetSpec(
        key=table_key(table),
        group_name=group,
        description=f"{table.description}\n\nTable `{table.qualified_name}`, written by `{written_by}` "
        "in the same step: materializing one materializes both.",
        kinds=kinds,
        deps=list(deps),
        metadata={
            "dagster/column_schema": TableSchema(
                columns=[TableColumn(c.name, c.type, description=c.description) for c in table.columns]
            )
        },
    )
