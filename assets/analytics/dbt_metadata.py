"""What a dbt run reports in Dagster beyond dagster-dbt's defaults, and what makes the fetch safe.

Model events get a row count for views too, and column types named as the yml declares them (`varchar`, not
the adapter's `character varying(256)`) unless the built type really differs. The fetch reads the database the
run built in, and the adapter's connections (DuckDB's file lock) are released afterwards."""

import re
from collections.abc import Mapping
from typing import Any

from dagster import AssetMaterialization, Output, TableColumn, TableSchema, get_dagster_logger
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

ROW_COUNT = "dagster/row_count"
COLUMN_SCHEMA = "dagster/column_schema"

# How the adapters name the types the yml declares (DuckDB's names). A varchar's length is ignored.
_SYNONYMS = {
    "varchar": {"varchar", "character varying", "text", "string"},
    "timestamp": {"timestamp", "timestamp without time zone"},
    "double": {"double", "double precision", "float8"},
    "double precision": {"double", "double precision", "float8"},  # the spelling both engines accept in a cast
    "decimal": {"decimal", "numeric"},
    "integer": {"integer", "int", "int4"},
    "bigint": {"bigint", "int8"},
    "boolean": {"boolean", "bool"},
}


def _base(type_name: str) -> str:
    return re.sub(r"\s*\(.*\)$", "", type_name.strip().lower())


def same_type(declared: str, built: str) -> bool:
    """Whether a built column type is the declared one under another name (`character varying(256)` is
    `varchar`, `numeric(18,6)` is `decimal(18,6)`); precisions must agree when both state one."""
    base_declared, base_built = _base(declared), _base(built)
    if base_built not in _SYNONYMS.get(base_declared, {base_declared}):
        return False
    precision = re.search(r"\(.*\)$", declared.strip()), re.search(r"\(.*\)$", built.strip())
    return base_declared == "varchar" or not all(precision) or precision[0].group() == precision[1].group()


def declared_type_names(schema: TableSchema, node: dict[str, Any]) -> TableSchema:
    """The built schema with each column's type shown as declared in the yml when it is the same type."""
    declared = {name.lower(): (col.get("data_type") or "") for name, col in node.get("columns", {}).items()}
    columns = []
    for column in schema.columns:
        wanted = declared.get(column.name.lower(), "")
        kind = wanted if wanted and same_type(wanted, column.type) else column.type
        columns.append(
            TableColumn(
                name=column.name,
                type=kind,
                description=column.description,
                constraints=column.constraints,
                tags=column.tags,
            )
        )
    return TableSchema(columns=columns, constraints=schema.constraints)


def in_database(manifest: Mapping[str, Any], database: str) -> dict[str, Any]:
    """The manifest with every model and source placed in `database`.

    The manifest the code location loads is parsed once, for the default DuckDB file (database `warehouse`);
    a run on PostgreSQL (database `backbeat`) or another DuckDB file must fetch row counts and columns from
    the relations it built, or PostgreSQL refuses the cross-database reference.
    """

    def moved(node: Mapping[str, Any]) -> Mapping[str, Any]:
        old = node.get("database")
        if not old or old == database:
            return node
        relation = node.get("relation_name") or ""
        for before, after in ((f'"{old}".', f'"{database}".'), (f"{old}.", f"{database}.")):
            if relation.startswith(before):
                relation = after + relation[len(before) :]
                break
        return {**node, "database": database, "relation_name": relation}

    return {
        **manifest,
        "nodes": {k: moved(n) for k, n in manifest.get("nodes", {}).items()},
        "sources": {k: moved(n) for k, n in manifest.get("sources", {}).items()},
    }


def point_at_run_database(invocation: DbtCliInvocation) -> None:
    """Make the invocation's metadata fetch read the database this run's profile targets."""
    database = getattr(getattr(getattr(invocation.adapter, "config", None), "credentials", None), "database", None)
    if database:
        invocation.manifest = in_database(invocation.manifest, database)


def _view_row_count(invocation: DbtCliInvocation, node: dict[str, Any]) -> int | None:
    adapter = invocation.adapter
    if adapter is None or node.get("config", {}).get("materialized") != "view":
        return None
    try:
        with adapter.connection_named(f"row_count_{node['unique_id']}"):
            _, table = adapter.execute(f"select count(*) from {node['relation_name']}", fetch=True)
    except Exception as exc:  # a count is a nicety: never fail the run for it
        get_dagster_logger().warning(f"row count of {node.get('name')} not fetched: {exc}")
        return None
    return int(table[0][0])


def enrich_model_event(invocation: DbtCliInvocation, event: Any) -> Any:
    """Add a view's row count (dagster-dbt counts tables only) and name column types as declared.

    Runs once dbt has exited (dagster-dbt's metadata fetch waits for it on DuckDB), so it never opens the
    DuckDB file beside dbt's writer; the count goes through the run's own dbt adapter.
    """
    if not isinstance(event, Output | AssetMaterialization):
        return event
    unique_id = getattr(event.metadata.get("unique_id"), "text", None)
    node = invocation.manifest["nodes"].get(unique_id or "")
    if node is None:
        return event
    extra: dict[str, Any] = {}
    if ROW_COUNT not in event.metadata and (count := _view_row_count(invocation, node)) is not None:
        extra[ROW_COUNT] = count
    schema = getattr(event.metadata.get(COLUMN_SCHEMA), "schema", None)
    if isinstance(schema, TableSchema):
        extra[COLUMN_SCHEMA] = declared_type_names(schema, node)
    return event.with_metadata({**event.metadata, **extra}) if extra else event


def release_adapter(invocation: DbtCliInvocation) -> None:
    """Close the connections the metadata fetch opened in this process. dbt-duckdb also keeps its database
    instance open (`keep_open` defaults to true) and with it DuckDB's single-writer lock on the warehouse file,
    which would refuse the next dbt run or any other writer process: close that instance too."""
    adapter = invocation.adapter
    if adapter is None:
        return
    adapter.cleanup_connections()
    manager = type(adapter.connections)
    if getattr(manager, "_ENV", None) is not None:  # dbt-duckdb's one environment per process
        manager.env().close()
        manager.close_all_connections()
