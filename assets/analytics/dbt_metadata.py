"""What a dbt run reports in Dagster beyond dagster-dbt's defaults, and what makes the fetch safe and cheap.

Model events get a row count for views too, and column types named as the yml declares them (`varchar`, not
the adapter's `character varying(256)`) unless the built type really differs. The fetch reads the database the
run built in, and the adapter's connections (DuckDB's file lock) are released afterwards.

The fetch itself is dagster-dbt's (row counts, column schemas and column lineage), run by `with_metadata`
on a thread pool that is waited on by blocking: dagster-dbt's `fetch_row_counts()` and
`fetch_column_metadata()` poll their futures in a loop without sleeping, which keeps a core busy for as long
as dbt runs (7.9 million polls in one `backbeat demo run`), beside dbt itself on a 2-core machine."""

import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from dagster import AssetMaterialization, Output, TableColumn, TableSchema, get_dagster_logger
from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation
from dagster_dbt.core.dbt_event_iterator import _fetch_column_metadata, _fetch_row_count_metadata

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
    """A model's event with its row count (views' too: dagster-dbt counts tables only), column schema and
    column lineage, the column types named as declared. Other events pass unchanged.

    On DuckDB it runs once dbt has exited (see `with_metadata`), so it never opens the DuckDB file beside
    dbt's writer; the queries go through the run's own dbt adapter.
    """
    if not isinstance(event, Output | AssetMaterialization):
        return event
    unique_id = getattr(event.metadata.get("unique_id"), "text", None)
    node = invocation.manifest["nodes"].get(unique_id or "")
    if node is None:
        return event
    fetched = {**(_fetch_row_count_metadata(invocation, event) or {})}
    fetched.update(_fetch_column_metadata(invocation, event, True) or {})
    if fetched:
        event = event.with_metadata({**event.metadata, **fetched})
    extra: dict[str, Any] = {}
    if ROW_COUNT not in event.metadata and (count := _view_row_count(invocation, node)) is not None:
        extra[ROW_COUNT] = count
    schema = getattr(event.metadata.get(COLUMN_SCHEMA), "schema", None)
    if isinstance(schema, TableSchema):
        extra[COLUMN_SCHEMA] = declared_type_names(schema, node)
    return event.with_metadata({**event.metadata, **extra}) if extra else event


def _is_duckdb(invocation: DbtCliInvocation) -> bool:
    """Whether the run's adapter is dbt-duckdb's (its ``type()`` names the adapter: ``duckdb``, ``postgres``)."""
    adapter_type = getattr(invocation.adapter, "type", None)
    return callable(adapter_type) and adapter_type() == "duckdb"


def _after_dbt_exits(events: Iterable[Any]) -> Iterator[Any]:
    """All of dbt's events, handed on only once its stream has ended (with dbt's error, if any, after them: the
    events read before the error are kept, which is why this is a loop and not ``list(events)``)."""
    received: list[Any] = []
    try:
        for event in events:
            received.append(event)
    except Exception:
        yield from received
        raise
    yield from received


def with_metadata(invocation: DbtCliInvocation, events: Iterable[Any], threads: int | None = None) -> Iterator[Any]:
    """The events, in dbt's order, each model's through `enrich_model_event` on a pool of ``threads``.

    On PostgreSQL a model's metadata is fetched while dbt builds the next ones; on DuckDB only after dbt has
    exited (its writer holds the file). Waiting never polls: the stream is read by blocking, and a finished
    fetch is handed on at the next event, or blocked on once dbt's stream has ended.
    """
    stream = _after_dbt_exits(events) if _is_duckdb(invocation) else iter(events)
    workers = threads or invocation.postprocessing_threadpool_num_threads
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dbt_metadata") as pool:
        pending: deque[Future[Any]] = deque()
        failure: Exception | None = None
        try:
            for event in stream:
                pending.append(pool.submit(enrich_model_event, invocation, event))
                while pending and pending[0].done():
                    yield pending.popleft().result()
        except Exception as exc:  # dbt failed: what it built before still reports, then its error
            failure = exc
        while pending:
            yield pending.popleft().result()
        if failure is not None:
            raise failure


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
