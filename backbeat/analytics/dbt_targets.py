"""Bound the dbt target folders Dagster leaves behind: one `<op>-<run id[:7]>-<random>` folder per invocation
(manifest, compiled SQL, run_results.json and a debug log: 8-13 MB each), never cleaned by dagster-dbt."""

import shutil
import time
from collections.abc import Collection
from pathlib import Path

# Files dbt keeps writing while it runs: their modification time says whether a folder is still in use.
_ACTIVITY_FILES = ("dbt.log", "run_results.json")


def last_activity(path: Path) -> float:
    """When dbt last wrote to a target folder (the folder itself, its log or its run results)."""
    times = [path.stat().st_mtime]
    times += [(path / name).stat().st_mtime for name in _ACTIVITY_FILES if (path / name).exists()]
    return max(times)


def run_target_dirs(target_root: Path, op_name: str) -> list[Path]:
    """The per-invocation target folders of `op_name` under `target_root`, newest first."""
    if not target_root.is_dir():
        return []
    dirs = [p for p in target_root.glob(f"{op_name}-*") if p.is_dir()]
    return sorted(dirs, key=lambda p: (last_activity(p), p.name), reverse=True)


def prune_run_targets(
    target_root: Path,
    op_name: str,
    keep: int,
    running: Collection[str] = (),
    finished: Collection[str] = (),
    min_age_s: float = 600.0,
    now: float | None = None,
) -> list[Path]:
    """Delete all but the `keep` newest target folders of `op_name`; returns the folders deleted.

    Folders are named `<op>-<run id[:7]>-...`; `running` and `finished` hold full run ids of this Dagster
    instance. A folder of a running run is never deleted; one of a finished run always can be. A folder of a
    run this instance does not know (a test, a second `dagster dev` sharing the project) is deleted only once
    dbt has not written to it for `min_age_s`: that run may still be going.
    """
    running_prefixes = {run_id[:7] for run_id in running}
    finished_prefixes = {run_id[:7] for run_id in finished} - running_prefixes
    cutoff = (time.time() if now is None else now) - min_age_s
    deleted = []
    for path in run_target_dirs(target_root, op_name)[keep:]:
        run_prefix = path.name[len(op_name) + 1 :].split("-", 1)[0]
        if run_prefix in running_prefixes:
            continue
        if run_prefix not in finished_prefixes and last_activity(path) > cutoff:
            continue
        shutil.rmtree(path, ignore_errors=True)
        deleted.append(path)
    return deleted
