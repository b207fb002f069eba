"""Rights/royalties sensors and the monthly schedule: each change starts its runs once, and only once."""

import os
from datetime import date, datetime

import pytest
from dagster import SkipReason, build_schedule_context, build_sensor_context, instance_for_test

from assets.common.partitions import STATIONS_TAG
from assets.common.paths import DataDirResource
from assets.rights.sensors import rights_inbox_sensor
from assets.royalties.schedules import monthly_statements_schedule
from assets.royalties.sensors import ledger_restatement_sensor
from backbeat.airplay.shards import shard_of
from backbeat.royalties.restatements import queue_restatements
from integrations.warehouse import Warehouse, WarehouseResource


def test_rights_inbox_sensor_runs_once_per_change(tmp_path):
    decisions = tmp_path / "inbox" / "rights" / "review_decisions"
    decisions.mkdir(parents=True)
    resources = {"data_dir": DataDirResource(data_dir=str(tmp_path))}
    with instance_for_test() as instance:

        def evaluate(cursor):
            return rights_inbox_sensor(build_sensor_context(instance=instance, cursor=cursor, resources=resources))

        empty = evaluate(None)
        assert len(empty.run_requests) == 1  # the first look always runs the rights assets once
        assert evaluate(empty.cursor).run_requests == []
        (decisions / "2026-11-21.csv").write_text("task_id,decision,reviewer,decided_at,note\n")
        changed = evaluate(empty.cursor)
        assert len(changed.run_requests) == 1 and changed.cursor != empty.cursor
        assert evaluate(changed.cursor).run_requests == []
        (decisions / "2026-11-21.csv.part").write_text("half written")  # in-flight writes are ignored
        assert evaluate(changed.cursor).run_requests == []
        path = decisions / "2026-11-21.csv"
        path.write_text(path.read_text() + "work:W1:-:abc,approve,ana,2026-11-21T10:00:00,ok\n")
        os.utime(path, ns=(1, 2))
        assert len(evaluate(changed.cursor).run_requests) == 1


@pytest.mark.parametrize("kind", ["duckdb", "postgres"])
def test_restatement_sensor_requests_each_queued_day_and_shard_once_for_the_queued_stations(kind, tmp_path, request):
    url = (
        f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
        if kind == "duckdb"
        else request.getfixturevalue("postgres_server").create_database("restate_sensor")
    )
    db = Warehouse(url)
    resources = {"warehouse": WarehouseResource(url=url)}
    assert (shard_of("north"), shard_of("west-39"), shard_of("south")) == ("s01", "s01", "s03")
    with instance_for_test() as instance:

        def evaluate(cursor):
            return ledger_restatement_sensor(
                build_sensor_context(instance=instance, cursor=cursor, resources=resources)
            )

        nothing = evaluate(None)
        assert nothing.run_requests == []
        queue_restatements(db, [("north", date(2026, 11, 2)), ("south", date(2026, 11, 2))], "split approved")
        queue_restatements(db, [("north", date(2026, 11, 2)), ("west-39", date(2026, 11, 2))], "dispute step")
        first = evaluate(None)
        by_key = {str(r.partition_key): r for r in first.run_requests}
        assert sorted(by_key) == ["2026-11-02|s01", "2026-11-02|s03"]
        assert by_key["2026-11-02|s01"].tags[STATIONS_TAG] == "north,west-39"  # only the queued stations
        assert by_key["2026-11-02|s03"].tags[STATIONS_TAG] == "south"
        assert by_key["2026-11-02|s01"].tags["backbeat/restatement_reason"] == "dispute step; split approved"
        assert evaluate(first.cursor).run_requests == []
        queue_restatements(db, [("south", date(2026, 11, 2))], "tariff fixed")
        again = evaluate(first.cursor)
        assert [str(r.partition_key) for r in again.run_requests] == ["2026-11-02|s03"]
        assert again.run_requests[0].run_key != by_key["2026-11-02|s03"].run_key
        assert again.run_requests[0].tags["backbeat/restatement_reason"] == "tariff fixed"


def test_monthly_statements_schedule_asks_for_last_month():
    with instance_for_test() as instance:
        context = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 12, 2, 4))
        request = monthly_statements_schedule(context)
        assert request.partition_key == "2026-11-01" and request.run_key == "statements|2026-11-01"
        early = build_schedule_context(instance=instance, scheduled_execution_time=datetime(2026, 1, 2, 4))
        assert isinstance(monthly_statements_schedule(early), SkipReason)
