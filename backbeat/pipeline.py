"""Materialize the whole graph for the data on disk, through Dagster, into a Dagster instance.

Used by `backbeat demo run`: every run is a real Dagster run of the code location `workspace.yaml` declares, so
it shows in the UI under its job. Work that a sensor starts in production is started here by one tick of that
sensor, stored as the daemon stores it: afterwards every sensor finds nothing new, and opening the UI starts
nothing until new data arrives.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from dagster import AutomationConditionSensorDefinition, DagsterInstance, DagsterRunStatus, Definitions

from backbeat.code_location import CodeLocation, execute_job, tick_automation_sensor, tick_sensor

# Runs keep every event in the instance (see the UI); the terminal shows only warnings and errors.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
ALBUM_QUEUE_ROUNDS = 5  # bounded: each round's run key is the queue's state, and a state is run once


@dataclass
class PipelineReport:
    runs: list[tuple[str, str, bool]] = field(default_factory=list)  # job, partition, success
    shard_days: list[str] = field(default_factory=list)  # day × shard partitions the landing sensor ran
    restatements: list[str] = field(default_factory=list)

    @property
    def success(self) -> bool:
        return all(ok for _, _, ok in self.runs)


def run_everything(
    defs: Definitions,
    instance: DagsterInstance,
    curation_days: list[date],
    log: Callable[[str], None] = print,
    tool_output: Path | None = None,
    people: Callable[[], list[str]] | None = None,
    run_config: dict[str, dict] | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    outreach: Callable[[Callable[..., None], Callable[[str], list[str]]], list[str]] | None = None,
) -> PipelineReport:
    """Reference data and the album queue, every station-day the landing sensor finds, then what people did
    (`people`: review decisions, disputes) and the corrections it causes, curation days, monthly statements,
    analytics, and one tick of the automation sensors.

    What tools print while a run executes (dbt's progress lines) goes to `tool_output` when one is given.
    `run_config` adds run config per job name (the demo's minimum payout). `progress(runs done, None)` is called
    after each run; the total is not known ahead, since sensors decide how many runs there are.
    `outreach(execute, sensor_runs)` runs the demo's campaign before analytics (`backbeat.demo.outreach`).
    """
    report = PipelineReport()
    repository = defs.get_repository_def()
    location = CodeLocation.from_workspace(repository.name)

    def execute(
        job_name: str, partition_key: str | None = None, tags: dict | None = None, run_id: str | None = None
    ) -> None:
        log(f"  running {job_name}" + (f" [{partition_key}]" if partition_key else ""))
        with contextlib.ExitStack() as stack:
            if tool_output is not None:
                tool_output.parent.mkdir(parents=True, exist_ok=True)
                stack.enter_context(contextlib.redirect_stdout(stack.enter_context(tool_output.open("a"))))
            run = execute_job(
                defs,
                job_name,
                instance,
                location,
                partition_key=partition_key,
                tags=tags,
                run_config={**QUIET, **(run_config or {}).get(job_name, {})},
                run_id=run_id,
            )
        success = run.status == DagsterRunStatus.SUCCESS
        report.runs.append((job_name, partition_key or "", success))
        if progress is not None:
            progress(len(report.runs), None)
        if not success:
            raise RuntimeError(f"{job_name} [{partition_key or '-'}] failed: run {run.run_id} (see the Dagster UI)")

    def sensor_runs(sensor_name: str) -> list[str]:
        """One tick of the sensor, stored as the daemon stores it, then the runs it requested (partition keys)."""
        job_name = repository.get_sensor_def(sensor_name).job_name
        keys = []
        for run_id, request in tick_sensor(defs, instance, location, sensor_name).requests:
            key = str(request.partition_key) if request.partition_key else None
            execute(request.job_name or job_name, key, dict(request.tags), run_id=run_id)
            keys.append(key or "")
        return keys

    execute("reference_data_job")
    for _ in range(ALBUM_QUEUE_ROUNDS):  # the sensor repeats the catalog ingest while albums remain queued
        if not sensor_runs("album_queue_sensor"):
            break
    report.shard_days += sensor_runs("landing_chunks_sensor")
    if people is not None:
        for line in people():
            log(f"  {line}")
    sensor_runs("rights_inbox_sensor")
    sensor_runs("royalties_inbox_sensor")
    report.restatements += sensor_runs("ledger_restatement_sensor")
    if curation_days:
        execute("curation_token_refresh_job")  # the 30-minute refresh, before the day's playlist sync
    for day in curation_days:
        execute("curation_job", day.isoformat())
    for month in sorted({key.split("|")[0][:7] for key in report.shard_days + report.restatements}):
        execute("monthly_statements_job", f"{month}-01")
    if outreach is not None:
        for line in outreach(execute, sensor_runs):
            log(f"  {line}")
    execute("analytics_job")
    automation = [s.name for s in repository.sensor_defs if isinstance(s, AutomationConditionSensorDefinition)]
    for name in automation:  # one tick now, so the daemon's next tick only looks at what changes afterwards
        if pending := tick_automation_sensor(defs, instance, location, name):
            log(f"  {name} still requests {', '.join(pending)} (left to the daemon)")
    return report
