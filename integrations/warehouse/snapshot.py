"""A consistent copy of the DuckDB warehouse for people's readers (dbt docs, notebooks, ad-hoc SQL).

DuckDB lets one process write a file, and a reader holding the file open, even read-only, makes the pipeline's
next write wait and then fail. A snapshot holds the file for the second or so `COPY FROM DATABASE` takes, then
readers use the copy for as long as they like. The copy keeps the file name, so its catalog name (DuckDB names a
database after its file) matches what dbt's manifest expects.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

from integrations.warehouse.client import DUCKDB_LOCK_WAIT_S


def snapshot_duckdb(source: Path, folder: Path, wait_s: float = DUCKDB_LOCK_WAIT_S) -> Path:
    """Copy the DuckDB file `source` into `folder` (same file name) and return the copy's path.

    The copy is written beside the target and moved over it, so a reader never sees half a snapshot. Waits up to
    `wait_s` for a writer to finish.
    """
    import duckdb

    if not source.exists():
        raise FileNotFoundError(f"no warehouse at {source}: run the pipeline (make demo) first")
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    staging = Path(tempfile.mkdtemp(prefix=".snapshot-", dir=folder))
    try:
        deadline, delay = time.monotonic() + wait_s, 0.05
        while True:
            connection = duckdb.connect()
            try:
                connection.execute(f"ATTACH '{_quoted(source)}' AS src (READ_ONLY)")
                connection.execute(f"ATTACH '{_quoted(staging / source.name)}' AS dst")
                connection.execute("COPY FROM DATABASE src TO dst")
                break
            except duckdb.IOException as exc:
                if "lock" not in str(exc).lower() or time.monotonic() > deadline:
                    raise
            finally:
                connection.close()
            time.sleep(delay)
            delay = min(delay * 2, 2.0)
        os.replace(staging / source.name, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")
