"""Materialize the whole graph for the data on disk, through Dagster, into a Dagster instance.

Used by `backbeat demo run`: every run is a real Dagster run recorded in the instance, so it shows in the UI.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import DagsterInstance, Definitions, build_sensor_context

# Runs keep every event in the instance (see the UI); the terminal shows only warnings and errors.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


@dataclass
class PipelineReport:
    runs: list[tuple[str, str, bool]] = field(default_factory=list)  # job, partition, success
    station_days: list[str] = field(default_factory=list)
    restatements: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(ok for _, _, ok in self.runs)


def run_everything(
    defs: Definitions, instance: DagsterInstance, curation_days: list[date], log: Callable[[str], None] = print,
    tool_output: Path | None = None, people: Callable[[], list[str]] | None = None,
) -> PipelineReport:
    """Reference data, every station-day the landing sensor finds, then what people did (`people`: review
    decisions, disputes) and the corrections it causes, curation days, monthly statements, then analytics.

    What tools print while a run executes (dbt's progress lines) goes to `tool_output` when one is given.
    """
    report = PipelineReport()

    def execute(job_name: str, partition_key: str | None = None, tags: dict | None = None) -> None:
        log(f"  running {job_name}" + (f" [{partition_key}]" if partition_key else ""))
        with contextlib.ExitStack() as stack:
            if tool_output is not None:
                tool_output.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(tool_output.open("a"))))
            result = defs.resolve_job_def(job_name).execute_in_process(
                instance=instance, partition_key=partition_key, tags=tags, raise_on_error=False, run_config=QUIET
            )
        report.runs.append((job_name, partition_key or "", result.success))
        if not result.success:
            raise RuntimeError(f"{job_name} [{partition_key or '-'}] failed: run {result.run_id} (see the Dagster UI)")

    def evaluate(sensor_name: str) -> list:
        sensor = defs.get_sensor_def(sensor_name)
        with build_sensor_context(instance=instance, resources=defs.resources, sensor_name=sensor.name) as context:
            result = sensor(context)
        for request in getattr(result, "dynamic_partitions_requests", None) or []:
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        return list(getattr(result, "run_requests", None) or [])

    execute("reference_data_job")
    for request in evaluate("landing_chunks_sensor"):
        report.station_days.append(str(request.partition_key))
        execute("station_day_job", str(request.partition_key), dict(request.tags))
    if people is not None:
        for line in people():
            log(f"  {line}")
        execute("rights_job")
        execute("royalty_adjustments_job")
        for request in evaluate("ledger_restatement_sensor"):
            report.restatements.append(str(request.partition_key))
            execute("ledger_restatement_job", str(request.partition_key), dict(request.tags))
    for day in curation_days:
        execute("curation_job", day.isoformat())
    for month in sorted({key.split("|")[0][:7] for key in report.station_days}):
        execute("monthly_statements_job", f"{month}-01")
    execute("analytics_job")
    return report
