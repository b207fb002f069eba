"""Write finance tables as Parquet files plus one DuckDB file, published only as a whole."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl


def write_export(tables: dict[str, pl.DataFrame], staging: Path) -> dict[str, Path]:
    """Each table as `staging/parquet/<name>.parquet`, and all of them in `staging/finance.duckdb`."""
    if staging.exists():
        shutil.rmtree(staging)
    (staging / "parquet").mkdir(parents=True)
    files = {}
    for name, frame in tables.items():
        files[name] = staging / "parquet" / f"{name}.parquet"
        frame.write_parquet(files[name])
    con = duckdb.connect(str(staging / "finance.duckdb"))
    try:
        for name, path in files.items():
            con.execute(f"CREATE TABLE {name} AS SELECT * FROM read_parquet('{path}')")
    finally:
        con.close()
    return files


def publish(staging: Path, target: Path) -> None:
    """Replace `target` with `staging` so readers see the old export or the new one, never half of each."""
    previous = target.with_name(target.name + ".previous")
    if previous.exists():
        shutil.rmtree(previous)
    if target.exists():
        target.rename(previous)
    staging.rename(target)
    if previous.exists():
        shutil.rmtree(previous)
