"""What a dbt build replaces and what that takes with it, read from the manifest.

On PostgreSQL, dbt replaces a view or a table by building it under a temporary name, renaming the old relation
away and dropping it with `drop ... cascade`: every view that reads the old relation (directly, or through
other views) goes with it. A table reading it survives (it holds its rows). So a partial build must rebuild the
views downstream of what it replaces, through views only, or they are gone until a full build.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

DROPPED_WITH_PARENT = frozenset({"view"})
"""Materializations PostgreSQL drops with a relation they read (`drop ... cascade`)."""


def _models(manifest: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return {uid: node for uid, node in manifest.get("nodes", {}).items() if node.get("resource_type") == "model"}


def _by_name(models: Mapping[str, Mapping[str, Any]], names: Iterable[str]) -> list[str]:
    ids = {node["name"]: uid for uid, node in models.items()}
    unknown = sorted(set(names) - ids.keys())
    if unknown:
        raise KeyError(f"not dbt models of this project: {', '.join(unknown)}")
    return [ids[name] for name in names]


def views_dropped_with(manifest: Mapping[str, Any], rebuilt: Iterable[str]) -> list[str]:
    """Names of the views a build of the models `rebuilt` drops on PostgreSQL and does not itself rebuild.

    A view goes when a relation it reads is replaced, or dropped in turn: the walk follows children that are
    views and stops at tables and incremental models (they keep their rows and are not dropped).
    """
    models = _models(manifest)
    children = manifest.get("child_map", {})
    start = _by_name(models, rebuilt)
    seen, pending, dropped = set(start), list(start), []
    while pending:
        for child in children.get(pending.pop(), []):
            node = models.get(child)
            if node is None or child in seen:
                continue
            seen.add(child)
            if node.get("config", {}).get("materialized") in DROPPED_WITH_PARENT:
                dropped.append(node["name"])
                pending.append(child)
    return sorted(dropped)


def upstream_models(manifest: Mapping[str, Any], names: Iterable[str]) -> list[str]:
    """Names of the models `names` are built from, transitively, with `names` themselves (sorted)."""
    models = _models(manifest)
    parents = manifest.get("parent_map", {})
    start = _by_name(models, names)
    seen, pending = set(start), list(start)
    while pending:
        for parent in parents.get(pending.pop(), []):
            if parent in models and parent not in seen:
                seen.add(parent)
                pending.append(parent)
    return sorted(models[uid]["name"] for uid in seen)


def read_manifest(project_dir: Path) -> dict[str, Any]:
    """The manifest `dbt parse` (or a build) wrote under the project's `target/` folder."""
    manifest: dict[str, Any] = json.loads((project_dir / "target" / "manifest.json").read_text())
    return manifest
