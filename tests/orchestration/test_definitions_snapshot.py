"""The whole code location, written out as text and compared with a committed snapshot.

Every asset (key, group, partitions, kinds, upstream keys, automation condition), asset check, job (with the
assets it selects), schedule (cron, timezone, job) and sensor (kind, target, interval) is listed, one line each,
in `definitions_snapshot.txt`. A move of definitions between modules must leave this text unchanged; a change
of the graph shows as a diff in review. After an intended change, regenerate it with:

    UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/orchestration/test_definitions_snapshot.py
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from dagster import (
    AssetKey,
    DynamicPartitionsDefinition,
    MultiPartitionsDefinition,
    PartitionsDefinition,
    StaticPartitionsDefinition,
    TimeWindowPartitionsDefinition,
)
from dagster._core.definitions.repository_definition import RepositoryDefinition

from orchestration.definitions import defs

SNAPSHOT = Path(__file__).with_name("definitions_snapshot.txt")
REGENERATE = "UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/orchestration/test_definitions_snapshot.py"


def describe_partitions(partitions: PartitionsDefinition | None) -> str:
    """A short stable name for a partitions definition: its kind and what fixes its keys."""
    if partitions is None:
        return "unpartitioned"
    if isinstance(partitions, TimeWindowPartitionsDefinition):
        start = partitions.start.strftime("%Y-%m-%d")
        offset = partitions.end_offset
        return f"time({partitions.cron_schedule}, start={start}, tz={partitions.timezone}, end_offset={offset})"
    if isinstance(partitions, DynamicPartitionsDefinition):
        return f"dynamic({partitions.name})"
    if isinstance(partitions, StaticPartitionsDefinition):
        return f"static({','.join(partitions.get_partition_keys())})"
    if isinstance(partitions, MultiPartitionsDefinition):
        dims = ", ".join(f"{d.name}={describe_partitions(d.partitions_def)}" for d in partitions.partitions_defs)
        return f"multi({dims})"
    return type(partitions).__name__


def keys_text(keys: object) -> str:
    return "[" + ", ".join(sorted(key.to_user_string() for key in keys)) + "]"  # type: ignore[attr-defined]


def asset_lines(repo: RepositoryDefinition) -> list[str]:
    graph = repo.asset_graph
    lines = []
    for key in sorted(graph.get_all_asset_keys(), key=AssetKey.to_user_string):
        node = graph.get(key)
        if node.is_external:
            lines.append(f"asset {key.to_user_string()} external")
            continue
        condition = node.automation_condition
        lines.append(
            f"asset {key.to_user_string()} group={node.group_name}"
            f" partitions={describe_partitions(node.partitions_def)}"
            f" kinds={','.join(sorted(node.kinds))}"
            f" deps={keys_text(node.parent_keys)}"
            f" automation={condition.get_label() or type(condition).__name__ if condition else None}"
        )
    return lines


def check_lines(repo: RepositoryDefinition) -> list[str]:
    graph = repo.asset_graph
    lines = []
    for check_key in sorted(graph.asset_check_keys, key=lambda k: (k.asset_key.to_user_string(), k.name)):
        spec = graph.get_check_spec(check_key)
        lines.append(f"check {check_key.asset_key.to_user_string()}:{check_key.name} blocking={spec.blocking}")
    return lines


def job_lines(repo: RepositoryDefinition) -> list[str]:
    lines = []
    for job in sorted(repo.get_all_jobs(), key=lambda j: j.name):
        if job.name.startswith("__ASSET_JOB"):
            continue
        lines.append(
            f"job {job.name} partitions={describe_partitions(job.partitions_def)}"
            f" assets={keys_text(job.asset_layer.executable_asset_keys)}"
        )
    return lines


def schedule_lines(repo: RepositoryDefinition) -> list[str]:
    return [
        f"schedule {s.name} cron={s.cron_schedule} tz={s.execution_timezone} job={s.job_name}"
        f" default={s.default_status.value}"
        for s in sorted(repo.schedule_defs, key=lambda s: s.name)
    ]


def sensor_lines(repo: RepositoryDefinition) -> list[str]:
    lines = []
    for sensor in sorted(repo.sensor_defs, key=lambda s: s.name):
        if sensor.has_jobs:
            target = "jobs=" + ",".join(sorted(job.name for job in sensor.jobs))
        elif sensor.asset_selection is not None:
            target = "assets=" + keys_text(sensor.asset_selection.resolve(repo.asset_graph))
        else:
            target = "target=none"
        lines.append(
            f"sensor {sensor.name} kind={type(sensor).__name__} {target}"
            f" interval={sensor.minimum_interval_seconds} default={sensor.default_status.value}"
        )
    return lines


def render() -> str:
    repo = defs.get_repository_def()
    sections = [asset_lines(repo), check_lines(repo), job_lines(repo), schedule_lines(repo), sensor_lines(repo)]
    return "\n".join(line for section in sections for line in section) + "\n"


def test_definitions_match_the_committed_snapshot():
    actual = render()
    if os.environ.get("UPDATE_SNAPSHOT") == "1":
        SNAPSHOT.write_text(actual, encoding="utf-8")
    expected = SNAPSHOT.read_text(encoding="utf-8") if SNAPSHOT.exists() else ""
    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                fromfile=str(SNAPSHOT.name),
                tofile="definitions now",
            )
        )
        raise AssertionError(f"The definitions changed:\n{diff}\nIf intended, regenerate with:\n    {REGENERATE}")
