import os
from datetime import datetime

from dagster import build_schedule_context, build_sensor_context, instance_for_test

from assets.airplay.schedules import daily_chain_schedule
from assets.airplay.sensors import landing_chunks_sensor
from assets.common.partitions import STATIONS_TAG
from assets.common.paths import DataDirResource
from backbeat.airplay.shards import shard_of
from backbeat.airplay.tables import STATIONS
from integrations.warehouse import Warehouse, WarehouseResource


def evaluate(instance, data_dir, cursor):
    context = build_sensor_context(
        instance=instance, cursor=cursor, resources={"data_dir": DataDirResource(data_dir=str(data_dir))}
    )
    return landing_chunks_sensor(context)


def touch(folder, name, mtime_ns):
    path = folder / name
    path.write_bytes(b"audio")
    os.utime(path, ns=(mtime_ns, mtime_ns))


# north and west-39 hash to shard s01, south to s03 (`backbeat.airplay.shards`)
NORTH, SOUTH = shard_of("north"), shard_of("south")


def test_sensor_runs_each_new_day_and_shard_exactly_once_for_the_stations_with_new_chunks(tmp_path):
    assert shard_of("west-39") == NORTH == "s01" and SOUTH == "s03"
    landing = tmp_path / "landing"
    landing.mkdir()
    base = 1_700_000_000_000_000_000
    touch(landing, "north_20261102T060000Z.flac", base)
    touch(landing, "north_20261102T060030Z.flac", base)
    touch(landing, "west-39_20261102T060000Z.flac", base)
    touch(landing, "south_20261102T140000Z.ogg", base + 1)
    touch(landing, "this is not a chunk.mp3", base + 1)
    with instance_for_test() as instance:
        first = evaluate(instance, tmp_path, None)
        by_key = {str(r.partition_key): r for r in first.run_requests}
        assert sorted(by_key) == ["2026-11-02|s01", "2026-11-02|s03"]  # one run per day × shard
        assert by_key["2026-11-02|s01"].tags[STATIONS_TAG] == "north,west-39"  # both stations of the shard
        assert by_key["2026-11-02|s01"].tags["backbeat/new_chunks"] == "3"
        assert by_key["2026-11-02|s03"].tags[STATIONS_TAG] == "south"
        assert not first.dynamic_partitions_requests  # nothing to register: shards are fixed

        again = evaluate(instance, tmp_path, first.cursor)
        assert again.run_requests == [] and again.skip_reason is not None

        touch(landing, "north_20261102T060100Z.flac", base + 1)  # same mtime as the watermark, new name
        touch(landing, "north_20261103T000000Z.flac", base + 5)
        later = evaluate(instance, tmp_path, first.cursor)
        assert sorted(str(r.partition_key) for r in later.run_requests) == ["2026-11-02|s01", "2026-11-03|s01"]
        assert {r.tags["backbeat/new_chunks"] for r in later.run_requests} == {"1"}
        assert {r.tags[STATIONS_TAG] for r in later.run_requests} == {"north"}  # west-39 had nothing new
        assert evaluate(instance, tmp_path, later.cursor).run_requests == []


def _station(station_id: str, active: bool) -> dict:
    return {"station_id": station_id, "name": station_id, "stream_url": None, "active": active, "timezone": "UTC"}


def test_daily_chain_schedule_requests_yesterday_for_every_shard_with_a_station(tmp_path):
    from orchestration.definitions import defs

    db = Warehouse(f"duckdb:///{tmp_path / 'warehouse.duckdb'}")
    resources = {"data_dir": DataDirResource(data_dir=str(tmp_path)), "warehouse": WarehouseResource(url=db.url)}
    with instance_for_test() as instance:
        context = build_schedule_context(
            instance=instance,
            scheduled_execution_time=datetime(2026, 11, 3, 2),
            repository_def=defs.get_repository_def(),
            resources=resources,
        )
        assert not list(daily_chain_schedule.evaluate_tick(context).run_requests or [])
        stations = [("north", True), ("west-39", True), ("south", True), ("east", False)]
        db.replace(STATIONS, STATIONS.from_rows([_station(s, a) for s, a in stations]))
        (tmp_path / "landing").mkdir()
        touch(tmp_path / "landing", "radio-z_20261102T000000Z.flac", 1)  # captured, not in the stations table
        requests = daily_chain_schedule.evaluate_tick(context).run_requests
        keys = sorted(str(r.partition_key) for r in requests)
        assert keys == sorted(f"2026-11-02|{shard}" for shard in {NORTH, SOUTH, shard_of("radio-z")})
        assert shard_of("radio-z") == "s12" and shard_of("east") == "s26"  # east is inactive: its shard not run
        assert len({r.run_key for r in requests}) == len(requests)
        assert {r.tags["backbeat/shard_stations"] for r in requests if str(r.partition_key).endswith(NORTH)} == {"2"}
