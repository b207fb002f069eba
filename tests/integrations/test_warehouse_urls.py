"""Warehouse URLs: a password with any character (separately or percent-encoded), never shown in an error, and
PostgreSQL sessions in UTC whatever the server's time zone (checked on a real server set to UTC+14)."""

from __future__ import annotations

from contextlib import closing
from datetime import UTC, datetime
from urllib.parse import unquote, urlparse

import psycopg2
import pytest

from backbeat.settings import Settings, dbt_environment
from integrations.warehouse import Warehouse, WarehouseResource
from integrations.warehouse.urls import WarehouseUrlError, connection_url, warehouse_kind

PASSWORD = "p@ss:w/rd%?#"
PIECES = ["p@ss", "ss:w", "w/rd", "rd%", "%?#"]  # what libpq quotes back from such a password when unencoded
ROLE = "backbeat_special"
FAR_ZONE = "Pacific/Kiritimati"  # UTC+14: a day ahead of UTC for 14 hours of every day


def shows_no_password(text: str) -> bool:
    return not any(piece in text for piece in PIECES)


def test_the_separate_password_is_inserted_percent_encoded_and_sessions_run_in_utc():
    url = connection_url("postgresql://backbeat@db.internal:5432/warehouse", PASSWORD)
    parts = urlparse(url)
    assert unquote(parts.password or "") == PASSWORD and parts.hostname == "db.internal" and parts.port == 5432
    assert parts.query == "options=-c%20timezone%3DUTC"
    replaced = connection_url("postgresql://u:old@h/db?sslmode=require&options=-c%20search_path%3Dx", "new")
    assert replaced == "postgresql://u:new@h/db?sslmode=require&options=-c%20search_path%3Dx%20-c%20timezone%3DUTC"
    kept = "postgresql://u@h/db?options=-c%20TimeZone%3DEurope%2FParis"
    assert connection_url(kept) == kept  # an explicit choice stays
    assert connection_url("duckdb:///tmp/w.duckdb", PASSWORD) == "duckdb:///tmp/w.duckdb"
    assert dbt_environment(url)["BACKBEAT_PG_PASSWORD"] == PASSWORD
    assert dbt_environment(url)["PGOPTIONS"] == "-c timezone=UTC"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql://backbeat:{PASSWORD}@db.internal:5432/warehouse",  # everything unencoded
        "postgresql://backbeat:p%ss:w@db.internal:5432/warehouse",  # a bare %
        "postgresql://backbeat:p@ss@db.internal/warehouse",  # an unencoded @
        "postgresql://backbeat:w/rd@db.internal/warehouse",  # an unencoded /
    ],
)
def test_a_malformed_url_fails_before_the_driver_and_never_shows_the_password(url):
    with pytest.raises(WarehouseUrlError) as raised:
        Warehouse(url)
    message = str(raised.value)
    assert "BACKBEAT_WAREHOUSE_URL" in message and "BACKBEAT_WAREHOUSE_PASSWORD" in message and "%40" in message
    assert shows_no_password(message) and "db.internal" not in message
    with pytest.raises(WarehouseUrlError):
        Settings.from_env({"BACKBEAT_WAREHOUSE_URL": url})
    assert warehouse_kind("postgresql://backbeat:p%40ss%3Aw%2Frd%25%3F%23@[::1]:5432/warehouse") == "postgres"


def test_libpq_itself_would_have_shown_the_password():
    """Why the URL is checked first: the driver's own error quotes what it could not parse (as in the trial)."""
    with pytest.raises(psycopg2.Error) as raised:
        psycopg2.connect(f"postgresql://backbeat:{PASSWORD}@127.0.0.1:1/warehouse")
    assert "invalid percent-encoded token" in str(raised.value) and not shows_no_password(str(raised.value))


@pytest.fixture(scope="module")
def far_away_database(postgres_server):
    """A database whose sessions default to UTC+14 (as a server configured in that zone would), and a login
    role whose password holds every character a URL reserves."""
    url = postgres_server.create_database("far_away")
    with closing(postgres_server.connect()) as pg:
        pg.autocommit = True
        with pg.cursor() as cur:
            cur.execute(f"DROP ROLE IF EXISTS {ROLE}")
            cur.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD %s", [PASSWORD])
            cur.execute(f"ALTER DATABASE far_away SET timezone = '{FAR_ZONE}'")
            cur.execute(f"GRANT ALL ON DATABASE far_away TO {ROLE}")
    return postgres_server, url


def test_a_special_password_connects_and_sessions_compare_in_utc(far_away_database, monkeypatch):
    server, admin_url = far_away_database
    with closing(psycopg2.connect(admin_url)) as raw, raw.cursor() as cur:  # the zone the database imposes
        cur.execute("SHOW timezone")
        assert cur.fetchone()[0] == FAR_ZONE

    env = {
        "BACKBEAT_WAREHOUSE_URL": f"postgresql://{ROLE}@{server.host}:{server.port}/far_away",
        "BACKBEAT_WAREHOUSE_PASSWORD": PASSWORD,
    }
    settings = Settings.from_env(env)
    for db in (
        Warehouse(settings.warehouse_url),
        WarehouseResource(url=env["BACKBEAT_WAREHOUSE_URL"], password=PASSWORD).client(),
    ):
        row = db.query(
            "SELECT current_user AS who, current_setting('TimeZone') AS zone, current_date AS today, "
            "CAST(now() AS timestamp) AS stamp"
        ).row(0, named=True)
        now = datetime.now(UTC).replace(tzinfo=None)
        assert (row["who"], row["zone"]) == (ROLE, "UTC")
        assert row["today"] == now.date() or abs((now - row["stamp"]).total_seconds()) < 5  # midnight race
        assert abs((now - row["stamp"]).total_seconds()) < 60  # naive UTC, not UTC+14

    # dbt connects through libpq with the variables dbt_environment sets (PGOPTIONS among them)
    dbt = dbt_environment(settings.warehouse_url)
    monkeypatch.setenv("PGOPTIONS", dbt["PGOPTIONS"])
    with (
        closing(
            psycopg2.connect(
                host=dbt["BACKBEAT_PG_HOST"],
                port=dbt["BACKBEAT_PG_PORT"],
                user=dbt["BACKBEAT_PG_USER"],
                password=dbt["BACKBEAT_PG_PASSWORD"],
                dbname=dbt["BACKBEAT_PG_DATABASE"],
            )
        ) as pg,
        pg.cursor() as cur,
    ):
        cur.execute("SHOW timezone")
        assert cur.fetchone()[0] == "UTC"

    # a wrong password fails with the server's words, which name the role but not the password tried
    wrong = Settings.from_env({**env, "BACKBEAT_WAREHOUSE_PASSWORD": "p@ss:w/rd%?#-wrong"})
    with pytest.raises(psycopg2.OperationalError) as raised:
        Warehouse(wrong.warehouse_url).scalar("SELECT 1")
    assert "password authentication failed" in str(raised.value) and shows_no_password(str(raised.value))
