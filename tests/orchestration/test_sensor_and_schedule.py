import os
from datetime import datetime

from dagster import build_schedule_context, build_sensor_context, instance_for_test

from assets.airplay.schedules import daily_chain_schedule
from assets.airplay.sensors import landing_chunks_sensor
from assets.common.paths import DataDirResource


def evaluate(instance, data_dir, cursor):
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"data_dir": DataDirResource(data_dir=str(data_dir))}
    )
    return landing_chunks_sensor(context)


def touch(folder, name, mtime_ns):
    path = folder / name
    path.write_bytes(b"audio")
    os.utime(path, ns=(mtime_ns, mtime_ns))


def test_sensor_runs_each_new_station_day_exactly_once(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    base = 1_700_000_000_000_000_000
    touch(landing, "north_20261102T060000Z.flac", base)
    touch(landing, "north_20261102T060030Z.flac", base)
    touch(landing, "south_20261102T140000Z.ogg", base + 1)
    touch(landing, "this is not a chunk.mp3", base + 1)
    with instance_for_test() as instance:
        first = evaluate(instance, tmp_path, None)
        assert sorted(str(r.partition_key) for r in first.run_requests) == ["2026-11-02|north", "2026-11-02|south"]
        assert sorted(first.dynamic_partitions_requests[0].partition_keys) == ["north", "south"]

        again = evaluate(instance, tmp_path, first.cursor)
        assert again.run_requests == [] and again.skip_reason is not None

        touch(landing, "north_20261102T060100Z.flac", base + 1)  # same mtime as the watermark, new name
        touch(landing, "north_20261103T000000Z.flac", base + 5)
        later = evaluate(instance, tmp_path, first.cursor)
        assert sorted(str(r.partition_key) for r in later.run_requests) == ["2026-11-02|north", "2026-11-03|north"]
        assert {r.tags["backbeat/new_chunks"] for r in later.run_requests} == {"1"}
        assert evaluate(instance, tmp_path, later.cursor).run_requests == []


def test_daily_chain_schedule_requests_yesterday_for_every_station():
    with instance_for_test() as instance:
        from orchestration.definitions import defs

        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 3, 2),
            repository_def=defs.get_repository_def(),
        )
        assert not list(daily_chain_schedule.evaluate_tick(context).run_requests or [])
        instance.add_dynamic_partitions("stations", ["north", "south"])
        requests = daily_chain_schedule.evaluate_tick(context).run_requests
        assert sorted(str(r.partition_key) for r in requests) == ["2026-11-02|north", "2026-11-02|south"]
        assert len({r.run_key for r in requests}) == 2
