"""Runs and sensor ticks recorded against the code location `workspace.yaml` declares, as the daemon records them.

A run made with `execute_in_process` has no origin: the UI lists it under Runs only, not under its job nor in the
Overview timeline. A sensor evaluated by hand and not stored leaves the daemon to start from an empty cursor and
redo everything. Here runs carry the location's job origin (and execute in this process: DuckDB allows one
writer), and each sensor's cursor, last run key and tick are stored where the daemon looks for them (by the
selector: location, repository and sensor name).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from dagster import (
    AddDynamicPartitionsRequest,
    AutomationConditionSensorDefinition,
    DagsterInstance,
    DagsterRun,
    Definitions,
    RunRequest,
    RunsFilter,
    SensorDefinition,
    SensorEvaluationContext,
    evaluate_automation_conditions,
    in_process_executor,
)
from dagster._core.code_pointer import CodePointer
from dagster._core.definitions.asset_daemon_cursor import AssetDaemonCursor
from dagster._core.definitions.job_base import InMemoryJob
from dagster._core.execution.api import execute_run
from dagster._core.execution.execute_in_process import merge_run_tags
from dagster._core.execution.resources_init import get_transitive_required_resource_keys
from dagster._core.origin import JobPythonOrigin, RepositoryPythonOrigin
from dagster._core.remote_origin import RemoteInstigatorOrigin, RemoteJobOrigin, RemoteRepositoryOrigin
from dagster._core.scheduler.instigation import (
    InstigatorState,
    InstigatorStatus,
    InstigatorType,
    SensorInstigatorData,
    TickData,
    TickStatus,
)
from dagster._core.storage.tags import RUN_KEY_TAG, SENSOR_NAME_TAG
from dagster._core.utils import make_new_run_id
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.asset_daemon import (
    asset_daemon_cursor_from_instigator_serialized_cursor,
    asset_daemon_cursor_to_instigator_serialized_cursor,
)

from backbeat.settings import REPO_ROOT

WORKSPACE_FILE = REPO_ROOT / "workspace.yaml"


@dataclass(frozen=True)
class CodeLocation:
    """The code location the UI and the daemon load, named as they name it."""

    repository_origin: RemoteRepositoryOrigin
    python_origin: RepositoryPythonOrigin

    @classmethod
    def from_workspace(cls, repository_name: str, workspace_file: Path = WORKSPACE_FILE) -> CodeLocation:
        """The first location of `workspace_file`, read as `dagster dev -w` reads it (nothing is started)."""
        origin = WorkspaceFileTarget(paths=[str(workspace_file)]).create_origins()[0]
        target = origin.loadable_target_origin  # type: ignore[attr-defined]
        folder = str((workspace_file.parent / (target.working_directory or ".")).resolve())
        pointer = CodePointer.from_module(target.module_name, target.attribute or "defs", folder)
        return cls(
            repository_origin=RemoteRepositoryOrigin(code_location_origin=origin, repository_name=repository_name),
            python_origin=RepositoryPythonOrigin(
                executable_path=target.executable_path or sys.executable, code_pointer=pointer
            ),
        )

    def job_origin(self, job_name: str) -> RemoteJobOrigin:
        return self.repository_origin.get_job_origin(job_name)

    def sensor_origin(self, sensor_name: str) -> RemoteInstigatorOrigin:
        return self.repository_origin.get_instigator_origin(sensor_name)


def execute_job(
    defs: Definitions,
    job_name: str,
    instance: DagsterInstance,
    location: CodeLocation,
    *,
    partition_key: str | None = None,
    tags: Mapping[str, str] | None = None,
    run_config: Mapping[str, object] | None = None,
    run_id: str | None = None,
) -> DagsterRun:
    """Create the run as the location's job (so the UI shows it under the job) and execute it in this process."""
    job_def = defs.resolve_job_def(job_name).with_executor_def(in_process_executor)
    run_tags = merge_run_tags(job_def, partition_key, tags, None, instance, run_config)
    run = instance.create_run_for_job(
        job_def,
        run_id=run_id,
        run_config=run_config,
        tags=run_tags,
        remote_job_origin=location.job_origin(job_name),
        job_code_origin=JobPythonOrigin(job_name, location.python_origin),
    )
    execute_run(InMemoryJob(job_def), run, instance)
    return instance.get_run_by_id(run.run_id) or run


def _state(instance: DagsterInstance, location: CodeLocation, sensor: SensorDefinition) -> InstigatorState:
    origin = location.sensor_origin(sensor.name)
    state = instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())
    if state is not None:
        return state
    # what the daemon stores the first time it meets a sensor that runs by default
    state = InstigatorState(
        origin,
        InstigatorType.SENSOR,
        InstigatorStatus.DECLARED_IN_CODE,
        SensorInstigatorData(
            min_interval=sensor.minimum_interval_seconds,
            last_sensor_start_timestamp=time.time(),
            sensor_type=sensor.sensor_type,
        ),
    )
    return instance.add_instigator_state(state)


@dataclass(frozen=True)
class SensorTick:
    """One evaluation: the run requests to launch (with the ids their runs get), the cursor, the skip reason."""

    requests: list[tuple[str, RunRequest]]
    cursor: str | None
    skip_reason: str | None


def already_requested(instance: DagsterInstance, sensor_name: str, run_key: str | None) -> bool:
    """The daemon launches a run key once per sensor: a later request with the same key is skipped."""
    if not run_key:
        return False
    return bool(instance.get_run_ids(RunsFilter(tags={RUN_KEY_TAG: run_key, SENSOR_NAME_TAG: sensor_name}), limit=1))


def tick_sensor(defs: Definitions, instance: DagsterInstance, location: CodeLocation, sensor_name: str) -> SensorTick:
    """Evaluate a sensor from its stored cursor, register the partitions it adds, drop run keys already launched,
    and store the tick and the new cursor as the daemon does. The caller launches the returned requests."""
    repository = defs.get_repository_def()
    sensor = repository.get_sensor_def(sensor_name)
    state = _state(instance, location, sensor)
    data = state.instigator_data if isinstance(state.instigator_data, SensorInstigatorData) else SensorInstigatorData()
    resources = repository.get_top_level_resources()
    needed = get_transitive_required_resource_keys(sensor.required_resource_keys, resources)
    with SensorEvaluationContext(  # as the code server builds it for the daemon
        instance_ref=instance.get_ref(),
        instance=instance,
        last_tick_completion_time=data.last_tick_timestamp,
        last_run_key=data.last_run_key,
        cursor=data.cursor,
        log_key=None,
        repository_name=repository.name,
        repository_def=repository,
        sensor_name=sensor.name,
        resources={k: v for k, v in resources.items() if k in needed},
        last_sensor_start_time=data.last_sensor_start_timestamp,
    ) as context:
        result = sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        if isinstance(request, AddDynamicPartitionsRequest):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    requests = [
        (make_new_run_id(), _with_sensor_tags(r, sensor.name))
        for r in result.run_requests or []
        if not already_requested(instance, sensor.name, r.run_key)
    ]
    _record_tick(instance, location, sensor, state, requests, result.cursor, result.skip_message)
    return SensorTick(requests, result.cursor, result.skip_message)


def _with_sensor_tags(request: RunRequest, sensor_name: str) -> RunRequest:
    tags = {**request.tags, SENSOR_NAME_TAG: sensor_name}
    if request.run_key:
        tags[RUN_KEY_TAG] = request.run_key
    return request.with_replaced_attrs(tags=tags)


def _record_tick(
    instance: DagsterInstance,
    location: CodeLocation,
    sensor: SensorDefinition,
    state: InstigatorState,
    requests: Sequence[tuple[str, RunRequest]],
    cursor: str | None,
    skip_reason: str | None,
) -> None:
    now = time.time()
    origin = location.sensor_origin(sensor.name)
    run_keys = [r.run_key for _, r in requests if r.run_key]
    instance.create_tick(
        TickData(
            instigator_origin_id=origin.get_id(),
            instigator_name=sensor.name,
            instigator_type=InstigatorType.SENSOR,
            status=TickStatus.SUCCESS if requests else TickStatus.SKIPPED,
            timestamp=now,
            end_timestamp=now,
            selector_id=origin.get_selector().get_id(),
            run_ids=[run_id for run_id, _ in requests],
            run_keys=run_keys,
            cursor=cursor,
            skip_reason=None if requests else (skip_reason or "no new run requests"),
        )
    )
    old = state.instigator_data if isinstance(state.instigator_data, SensorInstigatorData) else SensorInstigatorData()
    instance.update_instigator_state(
        state.with_data(
            SensorInstigatorData(
                last_tick_timestamp=now,
                last_run_key=run_keys[-1] if run_keys else old.last_run_key,
                min_interval=sensor.minimum_interval_seconds,
                cursor=cursor,
                last_tick_start_timestamp=now,
                last_sensor_start_timestamp=old.last_sensor_start_timestamp,
                sensor_type=sensor.sensor_type,
                last_tick_success_timestamp=now,
            )
        )
    )


def automation_cursor(instance: DagsterInstance, location: CodeLocation, sensor_name: str) -> AssetDaemonCursor | None:
    """An automation sensor's stored cursor (the asset daemon's format), or None before its first tick."""
    origin = location.sensor_origin(sensor_name)
    state = instance.get_instigator_state(origin.get_id(), origin.get_selector().get_id())
    data = state.instigator_data if state else None
    if not isinstance(data, SensorInstigatorData) or not data.cursor:
        return None
    return asset_daemon_cursor_from_instigator_serialized_cursor(data.cursor, None)


def tick_automation_sensor(
    defs: Definitions, instance: DagsterInstance, location: CodeLocation, sensor_name: str
) -> list[str]:
    """Evaluate an automation sensor's conditions from its stored cursor, as the asset daemon's next tick would.

    When nothing is requested the new cursor is stored, so the daemon's next tick only looks at what changes
    afterwards. When something is, nothing is stored (the daemon will launch it) and the keys are returned.
    """
    sensor = defs.get_repository_def().get_sensor_def(sensor_name)
    assert isinstance(sensor, AutomationConditionSensorDefinition)
    state = _state(instance, location, sensor)
    result = evaluate_automation_conditions(
        defs=defs,
        instance=instance,
        asset_selection=sensor.asset_selection,
        cursor=automation_cursor(instance, location, sensor_name),
    )
    requested = sorted(r.key.to_user_string() for r in result.results if r.true_subset.size)
    if requested:
        return requested
    old = state.instigator_data if isinstance(state.instigator_data, SensorInstigatorData) else SensorInstigatorData()
    now = time.time()
    instance.update_instigator_state(
        state.with_data(
            SensorInstigatorData(
                last_tick_timestamp=now,
                last_run_key=old.last_run_key,
                min_interval=sensor.minimum_interval_seconds,
                cursor=asset_daemon_cursor_to_instigator_serialized_cursor(result.cursor),
                last_tick_start_timestamp=now,
                last_sensor_start_timestamp=old.last_sensor_start_timestamp,
                sensor_type=sensor.sensor_type,
                last_tick_success_timestamp=now,
            )
        )
    )
    return []
