"""What a warehouse URL names: its engine and, for DuckDB, its file. The client and the settings both read it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote, urlparse


def warehouse_kind(url: str) -> str:
    """'duckdb' or 'postgres', from a warehouse URL; anything else is a configuration error."""
    scheme = urlparse(url).scheme.split("+")[0]
    if scheme == "duckdb":
        return "duckdb"
    if scheme in ("postgresql", "postgres"):
        return "postgres"
    raise ValueError(f"BACKBEAT_WAREHOUSE_URL must start with duckdb:/// or postgresql://, got scheme {scheme!r}")


def duckdb_path(url: str) -> Path:
    """The file behind a `duckdb:///path` URL."""
    return Path(unquote(urlparse(url).path)).resolve() if url.startswith("duckdb:///") else Path(url)
