"""Schema migrations: an empty warehouse upgraded through every revision has exactly the declared schema, the
previous release's data directory upgrades without losing a row, and a run on an old schema stops.

DuckDB and PostgreSQL (the embedded server) each; the release fixture is `tests/fixtures/release_d6a27fb/`.
"""

from __future__ import annotations

import ast
import dataclasses
import hashlib
import json
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import Any

import dagster as dg
import psycopg2
import pytest
from click.testing import CliRunner
from embedded_pg import EmbeddedPostgres

from backbeat.commands.db import db
from backbeat.migrations import HEAD, REVISIONS, SchemaVersionError, install_schema_gate, schema_state, upgrade
from backbeat.migrations.declared import TABLE_MODULES, declared_tables
from backbeat.migrations.draft import draft
from backbeat.migrations.state import record
from backbeat.outreach.prospecting_tables import DRAFTS
from backbeat.outreach.tables import ORG_CONTACTS
from integrations.warehouse import Column, Warehouse, WarehouseResource, table
from integrations.warehouse.client import schema_gate, set_schema_gate

REPO = Path(__file__).resolve().parents[2]
RELEASE = REPO / "tests" / "fixtures" / "release_d6a27fb"
MANIFEST: dict[str, Any] = json.loads((RELEASE / "manifest.json").read_text())

TableSchema = dict[str, Any]


def schema_of(url: str, schemas: set[str]) -> dict[str, TableSchema]:
    """Every table in `schemas`: {"columns": {name: (type, precision, scale, nullable)}, "constraints": set}."""
    names = sorted(schemas)
    marks = ", ".join("?" for _ in names)
    with Warehouse(url, check_schema=False).connect() as conn:
        columns = conn.query(
            "SELECT table_schema || '.' || table_name AS t, column_name, data_type, numeric_precision, "
            f"numeric_scale, is_nullable FROM information_schema.columns WHERE table_schema IN ({marks})",
            names,
        ).rows()
        if conn.kind == "duckdb":
            constraints = conn.query(
                "SELECT schema_name || '.' || table_name AS t, constraint_type, constraint_text "
                f"FROM duckdb_constraints() WHERE constraint_type <> 'NOT NULL' AND schema_name IN ({marks})",
                names,
            ).rows()
        else:
            constraints = conn.query(
                "SELECT n.nspname || '.' || r.relname AS t, c.contype, c.conname || ' ' || pg_get_constraintdef(c.oid) "
                "FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid "
                "JOIN pg_namespace n ON n.oid = r.relnamespace "
                f"WHERE c.contype <> 'n' AND n.nspname IN ({marks}) UNION ALL "
                "SELECT n.nspname || '.' || r.relname, 'trigger', g.tgname || ' ' || pg_get_triggerdef(g.oid) "
                "FROM pg_trigger g JOIN pg_class r ON r.oid = g.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace "
                f"WHERE NOT g.tgisinternal AND n.nspname IN ({marks})",
                names + names,
            ).rows()
    found: dict[str, TableSchema] = {}
    for t, name, data_type, precision, scale, nullable in columns:
        found.setdefault(t, {"columns": {}, "constraints": set()})["columns"][name] = (
            data_type,
            precision,
            scale,
            nullable,
        )
    for t, kind, text in constraints:
        found[t]["constraints"].add((kind, text))
    return found


def differences(expected: dict[str, TableSchema], actual: dict[str, TableSchema]) -> list[str]:
    """Readable differences, table by table ([] when the schemas are the same)."""
    out = [f"missing table {t}" for t in sorted(expected.keys() - actual.keys())]
    out += [f"unexpected table {t}" for t in sorted(actual.keys() - expected.keys())]
    for t in sorted(expected.keys() & actual.keys()):
        want, have = expected[t], actual[t]
        for name in sorted(want["columns"].keys() | have["columns"].keys()):
            if want["columns"].get(name) != have["columns"].get(name):
                out.append(f"{t}.{name}: declared {want['columns'].get(name)}, migrated {have['columns'].get(name)}")
        out += [f"{t}: missing {c}" for c in sorted(want["constraints"] - have["constraints"])]
        out += [f"{t}: unexpected {c}" for c in sorted(have["constraints"] - want["constraints"])]
    return out


# ---- fixtures ----------------------------------------------------------------------------------------------


@pytest.fixture(params=["duckdb", "postgres"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[str], str]:
    """Makes URLs of empty warehouses on the parametrized engine."""

    def make(name: str) -> str:
        if request.param == "duckdb":
            return f"duckdb:///{tmp_path / name}.duckdb"
        server: EmbeddedPostgres = request.getfixturevalue("postgres_server")
        return server.create_database(f"mig_{name}")

    return make


@pytest.fixture
def gate() -> Iterator[None]:
    """The schema gate installed for the test, whatever was installed before restored after."""
    before = schema_gate()
    install_schema_gate()
    yield
    set_schema_gate(before)


def load_release(url: str) -> None:
    """The d6a27fb fixture loaded as the release left it: its DDL, its triggers (PostgreSQL), its rows."""
    warehouse = Warehouse(url, check_schema=False)
    with warehouse.connect() as conn:
        for schema in sorted({t.split(".")[0] for t in MANIFEST["tables"]}):
            conn.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        guards = (RELEASE / "postgres_guards.sql").read_text().splitlines() if conn.kind == "postgres" else []
        for sql in (RELEASE / "schema.sql").read_text().splitlines() + guards:
            conn.execute(sql)
        for name in MANIFEST["tables"]:
            csv = RELEASE / "data" / f"{name}.csv"
            if conn.kind == "duckdb":
                conn.execute(f"COPY {name} FROM '{csv}' (HEADER)")
            else:
                with conn.raw.cursor() as cur, csv.open(encoding="utf-8") as f:
                    cur.copy_expert(f"COPY {name} FROM STDIN WITH (FORMAT csv, HEADER true)", f)


def fingerprints(url: str) -> dict[str, tuple[int, str]]:
    """Per release table: row count and a sha256 over its rows (the release's columns, sorted)."""
    out = {}
    with Warehouse(url, check_schema=False).connect() as conn:
        for name in MANIFEST["tables"]:
            header = (RELEASE / "data" / f"{name}.csv").open(encoding="utf-8").readline().strip()
            rows = sorted(repr(r) for r in conn.query(f"SELECT {header} FROM {name}").rows())
            out[name] = (len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest())
    return out


def upgrade_via_cli(url: str) -> str:
    result = CliRunner().invoke(db, ["upgrade", "--url", url])
    assert result.exit_code == 0, result.output
    return result.output


# ---- tests -------------------------------------------------------------------------------------------------


def test_every_module_declaring_a_table_is_listed() -> None:
    """A module-level `X = table(...)` anywhere in backbeat/ must be in TABLE_MODULES, or its table escapes."""
    declaring = set()
    for path in (REPO / "backbeat").rglob("*.py"):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            value = getattr(node, "value", None)
            call = isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(value, ast.Call)
            if call and getattr(value.func, "id", None) in ("table", "Table"):
                declaring.add(".".join(path.relative_to(REPO).with_suffix("").parts))
    assert declaring == set(TABLE_MODULES)


def test_upgrading_an_empty_warehouse_gives_exactly_the_declared_schema(new_url: Callable[[str], str]) -> None:
    declared = declared_tables()
    schemas = {t.schema for t in declared}
    migrated = new_url("migrated")
    assert [r for r in upgrade(migrated, echo=lambda _: None)] == [r.id for r in REVISIONS]
    from_code = new_url("declared")
    Warehouse(from_code, check_schema=False).ensure(*declared)

    assert differences(schema_of(from_code, schemas), schema_of(migrated, schemas)) == []
    assert schema_state(migrated).recorded == HEAD


def test_a_release_data_directory_upgrades_without_losing_a_row(new_url: Callable[[str], str], gate: None) -> None:
    url = new_url("release")
    load_release(url)
    before = fingerprints(url)
    assert {n: count for n, (count, _) in before.items()} == MANIFEST["tables"]

    with pytest.raises(SchemaVersionError, match=r"revision 0001 .*Run `backbeat db upgrade`"):
        Warehouse(url).read(ORG_CONTACTS)  # a run on the old schema stops at its first access
    output = upgrade_via_cli(url)

    assert "revision 0001 (release d6a27fb: 76 of its tables, no version table)" in output
    assert "2 tables created, 76 present" in output and f"at revision {HEAD} (head)" in output
    assert fingerprints(url) == before
    warehouse = Warehouse(url)  # the gate now lets it through
    unbalanced = warehouse.query(
        "SELECT batch_id, SUM(amount_minor) AS total FROM royalties.royalty_ledger GROUP BY batch_id "
        "HAVING SUM(amount_minor) <> 0"
    )
    assert unbalanced.is_empty()
    assert warehouse.scalar("SELECT COUNT(DISTINCT batch_id) FROM royalties.royalty_ledger") == 4
    contacts = warehouse.read(ORG_CONTACTS)
    assert contacts.height == MANIFEST["tables"]["outreach.org_contacts"]
    assert contacts["station_id"].null_count() == contacts.height
    assert warehouse.read(DRAFTS).is_empty()  # a table the release never created now exists
    if warehouse.kind == "postgres":  # the release's append-only guard survived the upgrade
        with pytest.raises(psycopg2.Error, match="append-only"), warehouse.connect() as conn:
            conn.execute("DELETE FROM royalties.royalty_ledger")
    assert "nothing to do" in upgrade_via_cli(url)


def test_a_warehouse_the_code_creates_is_stamped_at_head_and_an_older_one_stops_every_access(
    tmp_path: Path, gate: None
) -> None:
    fresh = Warehouse(f"duckdb:///{tmp_path / 'fresh.duckdb'}")
    fresh.ensure(ORG_CONTACTS)
    state = schema_state(fresh.url)
    assert state.recorded == HEAD and {how for _, _, how, _ in state.history} == {"stamped"}

    old = f"duckdb:///{tmp_path / 'old.duckdb'}"
    first = REVISIONS[0]
    with Warehouse(old, check_schema=False).connect() as conn:  # a warehouse upgraded to 0001 only
        first.upgrade(conn)
        record(conn, first.id, first.description, "applied")
    for _ in range(2):  # not only the first access: every one, until someone upgrades
        with pytest.raises(SchemaVersionError, match=f"revision 0001; this Backbeat needs revision {HEAD}"):
            Warehouse(old).ensure(ORG_CONTACTS)
    assert "station_id" not in schema_of(old, {"outreach"})["outreach.org_contacts"]["columns"]

    status = CliRunner().invoke(db, ["status", "--url", old])
    later = [r.id for r in REVISIONS[1:]]
    assert status.exit_code == 0 and "pending (run `backbeat db upgrade`):" in status.output
    assert [line.split()[0] for line in status.output.split("pending")[1].splitlines()[1:]] == later
    assert upgrade(old, echo=lambda _: None) == later
    assert "station_id" in schema_of(old, {"outreach"})["outreach.org_contacts"]["columns"]
    Warehouse(old).ensure(ORG_CONTACTS)  # the gate lets it through now

    with Warehouse(old, check_schema=False).connect() as conn:
        conn.execute("INSERT INTO backbeat_meta.schema_version VALUES ('9999', 'from the future', 'applied', now())")
    set_schema_gate(schema_gate())  # forget what this process already checked
    with pytest.raises(SchemaVersionError, match="newer than this Backbeat"):
        Warehouse(old).read(ORG_CONTACTS)


def test_a_run_on_an_old_schema_fails_naming_the_command(tmp_path: Path, gate: None) -> None:
    url = f"duckdb:///{tmp_path / 'release.duckdb'}"
    load_release(url)

    @dg.asset
    def contacts(warehouse: WarehouseResource) -> int:
        return warehouse.client().read(ORG_CONTACTS).height

    result = dg.materialize([contacts], resources={"warehouse": WarehouseResource(url=url)}, raise_on_error=False)

    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.error
    assert failure is not None and "Run `backbeat db upgrade`" in str(failure.to_string())


@pytest.mark.postgres
def test_concurrent_upgrades_apply_each_revision_once(postgres_server: EmbeddedPostgres) -> None:
    url = postgres_server.create_database("mig_concurrent")
    with ThreadPoolExecutor(2) as pool:
        applied = list(pool.map(lambda _: upgrade(url, echo=lambda _: None), range(2)))

    assert sorted(r for run in applied for r in run) == [r.id for r in REVISIONS]
    assert [rev for rev, *_ in schema_state(url).history] == [r.id for r in REVISIONS]


def test_a_warehouse_recreated_under_a_checked_url_is_stamped_with_its_first_table(tmp_path: Path, gate: None) -> None:
    url = f"duckdb:///{tmp_path / 'again.duckdb'}"
    Warehouse(url).ensure(ORG_CONTACTS)
    (tmp_path / "again.duckdb").unlink()  # as a test's drop-and-create database does, in the same process

    Warehouse(url).ensure(ORG_CONTACTS)

    assert schema_state(url).recorded == HEAD


def test_a_drafted_revision_brings_the_last_one_to_the_declarations(tmp_path: Path) -> None:
    migrated = f"duckdb:///{tmp_path / 'migrated.duckdb'}"
    Warehouse(migrated, check_schema=False).ensure(ORG_CONTACTS)  # what the last revision left
    news = table(
        "support", "news", Column("id", "bigint", nullable=False), Column("seen_at", "timestamp"), primary_key=("id",)
    )
    contacts = dataclasses.replace(ORG_CONTACTS, columns=(*ORG_CONTACTS.columns, Column("notes", "text")))

    text = draft("9001", "support.news and org_contacts.notes", [contacts, news], migrated)
    module = ModuleType("r9001")
    exec(compile(text, "r9001.py", "exec"), module.__dict__)  # noqa: S102 - the drafted module is the subject
    with Warehouse(migrated, check_schema=False).connect() as conn:
        assert module.upgrade(conn) == "support.news created; outreach.org_contacts + notes VARCHAR"

    from_code = f"duckdb:///{tmp_path / 'declared.duckdb'}"
    Warehouse(from_code, check_schema=False).ensure(news, contacts)
    assert (
        differences(schema_of(from_code, {"support", "outreach"}), schema_of(migrated, {"support", "outreach"})) == []
    )
    with pytest.raises(ValueError, match="nothing to draft"):
        draft("9002", "again", [contacts, news], migrated)
    with pytest.raises(ValueError, match="outreach.org_contacts.notes is no longer declared"):
        draft("9002", "dropped", [ORG_CONTACTS], migrated)
