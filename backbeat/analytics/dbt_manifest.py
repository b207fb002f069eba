"""Whether dbt's manifest matches the project's files: a cheap mtime check, no dbt call, no side effects."""

from pathlib import Path
from typing import Protocol

PARSE_HINT = "run `backbeat dbt parse` (or `make setup`); `dagster dev` parses by itself"


class ParsedProject(Protocol):
    """Where a dbt project and its manifest are (dagster-dbt's `DbtProject` is one)."""

    @property
    def project_dir(self) -> Path: ...

    @property
    def manifest_path(self) -> Path: ...


def stale_manifest_reason(project: ParsedProject) -> str | None:
    """Why the manifest cannot be trusted (missing, or older than a model, macro, test or project file), or None."""
    manifest = Path(project.manifest_path)
    if not manifest.exists():
        return f"{manifest} is missing"
    built = manifest.stat().st_mtime
    root = Path(project.project_dir)
    files = [p for folder in ("models", "macros", "tests") for p in (root / folder).rglob("*")]
    files += [root / "dbt_project.yml", root / "profiles.yml"]
    newer = sorted(str(p.relative_to(root)) for p in files if p.is_file() and p.stat().st_mtime > built)
    if newer:
        return f"{manifest} is older than {', '.join(newer[:3])}" + (
            f" and {len(newer) - 3} more" if len(newer) > 3 else ""
        )
    return None


def require_manifest(project: ParsedProject) -> None:
    """Fail with a clear message instead of loading the dbt graph from a missing or stale manifest."""
    reason = stale_manifest_reason(project)
    if reason is not None:
        raise RuntimeError(f"dbt manifest not ready: {reason}; {PARSE_HINT}.")
