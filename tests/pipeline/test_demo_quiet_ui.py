"""After `backbeat demo run`, opening the UI starts nothing until new data arrives (issue 11, point 3).

The demo runs through the real CLI; then the daemons' own code ticks every sensor once against the workspace
`make ui` loads (`workspace.yaml`, a code server subprocess): the sensor daemon's iteration and the asset daemon's
iteration (the automation sensor). No run may be created. Then one new landing chunk must create exactly one.
"""

import logging
import shutil
import time
from datetime import UTC, datetime
from pathlib import Path

from click.testing import CliRunner
from dagster import DagsterInstance, RunsFilter
from dagster._core.scheduler.instigation import TickStatus
from dagster._core.test_utils import freeze_time
from dagster._core.workspace.context import WorkspaceProcessContext
from dagster._core.workspace.load_target import WorkspaceFileTarget
from dagster._daemon.asset_daemon import AssetDaemon
from dagster._daemon.sensor import execute_sensor_iteration

from backbeat.cli import main
from backbeat.code_location import WORKSPACE_FILE
from tests.pipeline.conftest import copy_demo

DAEMON_LOG = logging.getLogger("test_demo_quiet_ui")


def one_daemon_tick(instance: DagsterInstance, at: float) -> dict[str, TickStatus]:
    """One iteration of the sensor daemon and of the asset daemon, past every sensor's minimum interval; the
    status of each sensor's newest tick."""
    with freeze_time(at), WorkspaceProcessContext(instance, WorkspaceFileTarget(paths=[str(WORKSPACE_FILE)])) as ws:
        list(execute_sensor_iteration(ws, DAEMON_LOG, threadpool_executor=None, submit_threadpool_executor=None))
        AssetDaemon(settings=instance.get_auto_materialize_settings(), pre_sensor_interval_seconds=30
                    )._run_iteration_impl(ws, threadpool_executor=None, amp_tick_futures={}, debug_crash_flags={})
        sensors = [s for loc in ws.create_request_context().get_code_location_entries().values()
                   for repo in loc.code_location.get_repositories().values() for s in repo.get_sensors()]
    ticks = {}
    for sensor in sensors:
        newest = instance.get_ticks(sensor.get_remote_origin_id(), sensor.selector_id, limit=1)
        ticks[sensor.name] = newest[0].status if newest and newest[0].timestamp >= at - 1 else None
    return ticks


def test_after_the_demo_no_sensor_starts_a_run_until_a_new_chunk_lands(small_demo, tmp_path, monkeypatch):
    data_dir = copy_demo(small_demo, tmp_path / "data")
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(Path(__file__).parents[2] / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(data_dir))
    monkeypatch.delenv("BACKBEAT_WAREHOUSE_URL", raising=False)

    demo = CliRunner().invoke(main, ["demo", "run"], catch_exceptions=False)
    assert demo.exit_code == 0, demo.output[-3000:]

    with DagsterInstance.from_config(str(home)) as instance:
        demo_runs = instance.get_runs()
        assert len(demo_runs) >= 10
        # every demo run belongs to the UI's code location, so it shows under its job and in the timeline
        assert {r.remote_job_origin.repository_origin.get_label() for r in demo_runs if r.remote_job_origin} == {
            "__repository__@backbeat"}
        assert [r.job_name for r in demo_runs if r.remote_job_origin is None] == []
        landing_runs = instance.get_runs(RunsFilter(tags={"dagster/sensor_name": "landing_chunks_sensor"}))
        assert sorted(r.tags["dagster/partition"] for r in landing_runs) == [
            "2026-11-02|radio-north", "2026-11-02|radio-south"]
        assert all(r.tags.get("dagster/run_key", "").startswith("landing|") for r in landing_runs)

        first = time.time() + 600
        ticks = one_daemon_tick(instance, first)
        assert instance.get_runs(RunsFilter(created_after=_utc(first - 600))) == []
        assert "analytics_automation_sensor" in ticks and "landing_chunks_sensor" in ticks
        assert {name: status for name, status in ticks.items() if status != TickStatus.SKIPPED} == {}, ticks

        landing = data_dir / "landing"
        shutil.copy(landing / "radio-south_20261102T141130Z.flac", landing / "radio-south_20261102T141200Z.flac")
        ticks = one_daemon_tick(instance, first + 600)
        new_runs = instance.get_runs(RunsFilter(created_after=_utc(first - 600)))
        assert [(r.job_name, r.tags["dagster/partition"], r.tags["backbeat/new_chunks"]) for r in new_runs] == [
            ("station_day_job", "2026-11-02|radio-south", "1")]
        assert new_runs[0].tags["dagster/sensor_name"] == "landing_chunks_sensor"
        assert ticks["landing_chunks_sensor"] == TickStatus.SUCCESS


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)
