"""Warnings raised inside libraries we pin, that our code cannot fix: silenced by message and module, nothing more.

Each filter matches one message and only the library module that emits it, so the same deprecation raised from
our own code (`assets.…`, `orchestration.…`, `backbeat.…`) still shows. Installed by the entry points (the
`backbeat` CLI and the `orchestration` package, which Dagster loads first); pytest gets the same list from
`filterwarnings` in pyproject.toml. Remove a line when the pinned library stops warning.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass


@dataclass(frozen=True)
class KnownWarning:
    message: str
    """Regular expression matched at the start of the warning's text (case-insensitive)."""
    module: str
    """Regular expression matched at the start of the emitting module's name."""
    category: type[Warning]
    why: str


KNOWN_THIRD_PARTY_WARNINGS = (
    KnownWarning(
        r"AssetExecutionContext\.op is deprecated",
        r"dagster_dbt\.",
        DeprecationWarning,
        "dagster-dbt 0.29 reads the dbt selection tags through context.op inside DbtCliResource.cli",
    ),
    KnownWarning(
        r"sqlglotrs is deprecated",
        r"sqlglotrs\Z",
        DeprecationWarning,
        "sqlglot (imported by dagster-dbt) imports its optional Rust tokenizer, which warns on import",
    ),
    KnownWarning(
        r"Property `ScheduleDefinition\.environment_vars` is deprecated",
        r"dagster\._core\.",
        DeprecationWarning,
        "Dagster reads the deprecated property itself whenever it snapshots a schedule (UI, daemon)",
    ),
    KnownWarning(
        r"Non-compliant tag keys like \['dagster/partition/",
        r"dagster\._core\.",
        DeprecationWarning,
        "Dagster tags runs of multi-partitioned jobs `dagster/partition/<dimension>` and then finds its "
        "own keys non-compliant",
    ),
)


def ignore_known_third_party_warnings() -> None:
    """Install the filters (idempotent: `warnings.filterwarnings` drops an identical earlier filter)."""
    for known in KNOWN_THIRD_PARTY_WARNINGS:
        warnings.filterwarnings("ignore", message=known.message, category=known.category, module=known.module)
