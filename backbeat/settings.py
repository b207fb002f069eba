"""One settings object, read from environment variables, with embedded defaults.

With no configuration everything runs on one machine: a local Dagster instance under `.dagster_home/`,
data under `data/` and a DuckDB warehouse file `data/warehouse.duckdb`. A `postgresql://` URL in
`BACKBEAT_WAREHOUSE_URL` switches the warehouse and the dbt target to PostgreSQL; its password may instead
come from `BACKBEAT_WAREHOUSE_PASSWORD` (any characters: it is inserted percent-encoded). PostgreSQL sessions,
Backbeat's and dbt's, run in UTC whatever the server's time zone. `BACKBEAT_STORAGE_URL` (`s3://bucket/prefix`,
with `BACKBEAT_S3_ENDPOINT_URL` for a non-AWS server) names storage shared between machines (landing chunks, the
fingerprint index, published exports; see `deploy/STORAGE.md`); unset, nothing is shared beyond the data directory.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

from integrations.storage import Storage, open_storage
from integrations.warehouse.urls import PASSWORD_ENV, UTC_OPTION, connection_url, duckdb_path, warehouse_kind

REPO_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"
STORAGE_URL_ENV = "BACKBEAT_STORAGE_URL"
S3_ENDPOINT_ENV = "BACKBEAT_S3_ENDPOINT_URL"
# The venv's dbt, whether or not it is on PATH, through `backbeat-dbt` (dbt's command line, started ~0.9 CPU-s
# cheaper: backbeat/analytics/dbt_command.py).
DBT_EXECUTABLE = str(Path(sys.executable).with_name("backbeat-dbt"))


@dataclass(frozen=True)
class Settings:
    """Where Backbeat keeps its state, resolved once from the environment."""

    dagster_home: Path
    data_dir: Path
    warehouse_url: str
    warehouse_url_from_env: bool
    storage_url: str = ""  # BACKBEAT_STORAGE_URL; empty: files stay in the data directory
    s3_endpoint_url: str = ""  # BACKBEAT_S3_ENDPOINT_URL; empty: AWS itself

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(env.get("BACKBEAT_DATA_DIR") or REPO_ROOT / "data").resolve()
        url = env.get("BACKBEAT_WAREHOUSE_URL") or ""
        return cls(
            dagster_home=Path(env.get("DAGSTER_HOME") or REPO_ROOT / ".dagster_home").resolve(),
            data_dir=data_dir,
            warehouse_url=connection_url(url, env.get(PASSWORD_ENV))
            if url
            else f"duckdb:///{data_dir / 'warehouse.duckdb'}",
            warehouse_url_from_env=bool(url),
            storage_url=env.get(STORAGE_URL_ENV) or "",
            s3_endpoint_url=env.get(S3_ENDPOINT_ENV) or "",
        )

    def shared_storage(self) -> Storage | None:
        """The storage shared between machines, or None when `BACKBEAT_STORAGE_URL` is unset."""
        if not self.storage_url:
            return None
        return open_storage(self.storage_url, self.data_dir, endpoint_url=self.s3_endpoint_url or None)

    @property
    def warehouse_kind(self) -> str:
        return warehouse_kind(self.warehouse_url)

    @property
    def dbt_target(self) -> str:
        return self.warehouse_kind


def dbt_environment(url: str) -> dict[str, str]:
    """Environment variables that `dbt_project/profiles.yml` reads for the warehouse behind `url`."""
    if warehouse_kind(url) == "duckdb":
        return {"DBT_TARGET": "duckdb", "BACKBEAT_DUCKDB_PATH": str(duckdb_path(url))}
    parts = urlparse(url)
    return {
        "DBT_TARGET": "postgres",
        "BACKBEAT_PG_HOST": parts.hostname or "127.0.0.1",
        "BACKBEAT_PG_PORT": str(parts.port or 5432),
        "BACKBEAT_PG_USER": unquote(parts.username or "postgres"),
        "BACKBEAT_PG_PASSWORD": unquote(parts.password or ""),
        "BACKBEAT_PG_DATABASE": parts.path.lstrip("/") or "postgres",
        "PGOPTIONS": UTC_OPTION,  # libpq reads it: dbt's sessions run in UTC like the client's
    }
