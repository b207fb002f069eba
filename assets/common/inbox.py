"""The shared shape of an inbox sensor: one run per new state of the watched inbox files."""

from pathlib import Path

from dagster import RunRequest, SensorEvaluationContext, SensorResult

from backbeat.common.inbox import inbox_fingerprint


def inbox_run(context: SensorEvaluationContext, root: Path, entries: tuple[str, ...], label: str) -> SensorResult:
    """A run keyed by the inbox's fingerprint when the files under `root`/`entries` changed since the cursor."""
    fingerprint = inbox_fingerprint(root, entries)
    if fingerprint == context.cursor:
        return SensorResult(skip_reason=f"nothing new in {root}")
    return SensorResult(run_requests=[RunRequest(run_key=f"{label}|{fingerprint}")], cursor=fingerprint)
