"""Python-written warehouse tables publish their declared columns as `dagster/column_schema` in the code location."""

from __future__ import annotations

import pytest
from dagster import AssetKey, TableSchema

from assets.common.table_specs import table_key
from backbeat.airplay.tables import PLAYLOGS
from backbeat.registry import SOURCE_TABLES
from backbeat.royalties.tables import LEDGER, LEDGER_BATCHES
from integrations.warehouse import Table
from orchestration.definitions import defs

GRAPH = defs.resolve_asset_graph()


def schema_of(key: AssetKey) -> TableSchema:
    """The column schema the UI shows for `key`."""
    schema = GRAPH.get(key).metadata.get("dagster/column_schema")
    assert isinstance(schema, TableSchema), f"{key.to_user_string()} has no column schema"
    return schema


@pytest.mark.parametrize("table", [LEDGER, PLAYLOGS], ids=lambda t: t.qualified_name)
def test_declared_columns_types_and_descriptions_are_published(table: Table) -> None:
    schema = schema_of(table_key(table))
    published = [(c.name, c.type, c.description, c.constraints.nullable) for c in schema.columns]
    declared = [(c.name, c.type, c.description or None, c.nullable) for c in table.columns]
    assert published == declared
    assert all(c.description for c in schema.columns)


def test_known_columns_carry_their_meaning() -> None:
    ledger = {c.name: c for c in schema_of(AssetKey(["royalties", "royalty_ledger"])).columns}
    assert ledger["batch_id"].type == "text"
    assert "sums to zero" in (ledger["batch_id"].description or "")
    assert ledger["batch_id"].constraints.nullable is False
    playlogs = {c.name: c for c in schema_of(AssetKey(["airplay", "playlogs"])).columns}
    assert playlogs["play_id"].type == "text"
    assert playlogs["play_id"].description.startswith("Deterministic id of the play")


def test_every_materializable_table_asset_has_a_schema_and_keys_are_unchanged() -> None:
    materializable = {k for k in GRAPH.get_all_asset_keys() if GRAPH.get(k).is_materializable}
    owned = [table_key(t) for t in SOURCE_TABLES if table_key(t) in materializable]
    assert AssetKey(["royalties", "royalty_ledger"]) in owned and len(owned) >= 30
    assert [k for k in owned if "dagster/column_schema" not in GRAPH.get(k).metadata] == []
    # A side table declared by `table_spec` keeps its own schema (same columns, not replaced).
    assert [c.name for c in schema_of(table_key(LEDGER_BATCHES)).columns] == [c.name for c in LEDGER_BATCHES.columns]
