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


STAGING = ".staging"
"""Under the exports directory: `.staging/<run id>/<export>`, what a run wrote and has not published yet."""


def staging_dir(exports: Path, run_id: str, export: str) -> Path:
    """Where run `run_id` stages `export` (a path under the exports directory, e.g. `finance`)."""
    return exports / STAGING / run_id / export


def clear_stale_staging(exports: Path, run_id: str, export: str) -> list[Path]:
    """Remove `export` staged by other runs (left by a failed validation, kept until the next attempt)."""
    removed = []
    for run_dir in (exports / STAGING).glob("*"):
        if run_dir.name != run_id and (run_dir / export).exists():
            shutil.rmtree(run_dir / export)
            removed.append(run_dir / export)
            _remove_empty_parents(run_dir / export, exports / STAGING)
    return removed


def publish_staged(exports: Path, run_id: str, export: str) -> Path:
    """Publish what run `run_id` staged for `export` as `exports/<export>`, whole; its staging folder goes."""
    staged = staging_dir(exports, run_id, export)
    if not staged.is_dir():
        raise FileNotFoundError(f"nothing staged for {export} by run {run_id}")
    target = exports / export
    target.parent.mkdir(parents=True, exist_ok=True)
    publish(staged, target)
    _remove_empty_parents(staged, exports / STAGING)
    return target


def _remove_empty_parents(path: Path, stop: Path) -> None:
    for parent in path.parents:
        if parent == stop or not parent.is_relative_to(stop) or any(parent.iterdir()):
            return
        parent.rmdir()


def read_parquet_files(folder: Path, names: list[str]) -> dict[str, pl.DataFrame]:
    """`folder/<name>.parquet` for each name that exists, as frames (missing files are left out)."""
    return {n: pl.read_parquet(folder / f"{n}.parquet") for n in names if (folder / f"{n}.parquet").exists()}
