"""`backbeat partitions migrate-shards`: an instance that materialized station × day partitions ends with the
day × shard partitions they stand for, the status table filled from the warehouse, and no station partitions;
a second run changes nothing."""

from datetime import date, datetime

from click.testing import CliRunner
from dagster import AssetKey, AssetMaterialization, DagsterInstance, instance_for_test

from backbeat.airplay.shard_migration import DAY_SHARD_ASSETS, days_with_rows, fill_station_day_status, old_station_days
from backbeat.airplay.shards import shard_of
from backbeat.airplay.station_days import LEDGER_STAGE, PLAYLOGS_STAGE, STREAM_CHUNKS_STAGE
from backbeat.airplay.tables import PLAYLOGS, STATION_DAY_STATUS, STREAM_CHUNKS
from backbeat.cli import main
from backbeat.commands.partitions import migrate_instance
from integrations.warehouse import Warehouse

DAY = date(2026, 11, 2)
# north and west-39 share shard s01; south is in s03; "s05" is a station named like a shard
OLD = {
    "airplay/stream_chunks": [
        ("north", DAY),
        ("west-39", DAY),
        ("south", DAY),
        ("s05", DAY),
        ("north", date(2026, 11, 3)),
    ],
    "airplay/playlogs": [("north", DAY), ("west-39", DAY)],
    "royalties/royalty_ledger": [("south", DAY)],
}


def _record_old(instance) -> None:
    instance.add_dynamic_partitions("stations", ["north", "west-39", "south", "s05"])
    for asset, station_days in OLD.items():
        for station, day in station_days:
            key = AssetKey(asset.split("/"))
            instance.report_runless_asset_event(AssetMaterialization(key, partition=f"{day}|{station}"))


def test_old_keys_are_told_from_new_ones_even_for_a_station_named_like_a_shard():
    keys = {"2026-11-02|north", "2026-11-02|s01", "2026-11-02|s05", "2026-11-02"}
    assert old_station_days(keys, {"north", "s05"}) == [(DAY, "north"), (DAY, "s05")]
    assert old_station_days(keys, {"north"}) == [(DAY, "north")]


def test_materialized_station_days_become_their_day_and_shard_and_a_rerun_changes_nothing():
    with instance_for_test() as instance:
        _record_old(instance)
        lines: list[str] = []
        report = migrate_instance(instance, log=lines.append)
        stream = set(instance.get_materialized_partitions(AssetKey(["airplay", "stream_chunks"])))
        assert {k for k in stream if k.split("|")[1].startswith("s") and len(k.split("|")[1]) == 3} >= {
            "2026-11-02|s01",
            "2026-11-02|s03",
            f"2026-11-02|{shard_of('s05')}",
            "2026-11-03|s01",
        }
        assert report.reported["airplay/stream_chunks"] == 4  # north and west-39 share one shard-day
        assert report.station_days["airplay/stream_chunks"] == 5
        assert report.reported["airplay/playlogs"] == 1 and report.station_days["airplay/playlogs"] == 2
        assert report.reported["royalties/royalty_ledger"] == 1
        assert report.station_partitions_deleted == 4
        assert instance.get_dynamic_partitions("stations") == []
        assert len(lines) == len(DAY_SHARD_ASSETS) and lines[0].startswith("airplay/stream_chunks: 4 day × shard")
        event = instance.get_latest_materialization_event(AssetKey(["airplay", "playlogs"]))
        assert event.asset_materialization.metadata["stations"].value == "north, west-39"

        again = migrate_instance(instance, log=lines.append)
        # station partitions are gone: "2026-11-02|s05" now reads as a shard key, the other 3 as already done
        assert again.reported == {} and again.already["airplay/stream_chunks"] == 3
        assert set(instance.get_materialized_partitions(AssetKey(["airplay", "stream_chunks"]))) == stream


def test_the_status_table_is_filled_once_from_the_warehouse(tmp_path):
    db = Warehouse(f"duckdb:///{tmp_path / 'w.duckdb'}")
    chunk = {"station_id": "north", "chunk_date": DAY, "start_utc": datetime(2026, 11, 2, 6), "duration_s": 30.0}
    chunk |= {"path": "x.flac", "format": "flac", "size_bytes": 1}
    db.replace(STREAM_CHUNKS, STREAM_CHUNKS.from_rows([{**chunk, "chunk_id": f"c{n}"} for n in range(3)]))
    play = {"station_id": "north", "track_id": "T1", "play_date": DAY, "start_utc": datetime(2026, 11, 2, 6)}
    play |= {"end_utc": datetime(2026, 11, 2, 6, 3), "duration_s": 180, "confidence": 0.9, "detection_count": 6}
    play |= {"speed": 1.0, "runner_up_track_id": None, "runner_up_confidence": None, "aired_start_utc": None}
    db.replace(PLAYLOGS, PLAYLOGS.from_rows([{**play, "play_id": "p1"}]))
    assert days_with_rows(db) == [DAY]
    assert fill_station_day_status(db, [DAY]) == 2
    status = db.read(STATION_DAY_STATUS).sort("stage")
    assert status.select("station_id", "stage", "shard", "status", "row_count").rows() == [
        ("north", PLAYLOGS_STAGE, "s01", "ok", 1),
        ("north", STREAM_CHUNKS_STAGE, "s01", "ok", 3),
    ]
    assert LEDGER_STAGE not in status["stage"].to_list()  # no batch posted: nothing to say
    assert fill_station_day_status(db, [DAY]) == 0


def test_the_command_line_migrates_the_instance_and_names_a_station_s_shard(tmp_path, monkeypatch):
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("BACKBEAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BACKBEAT_WAREHOUSE_URL", raising=False)
    with DagsterInstance.get() as instance:
        _record_old(instance)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    first = runner.invoke(main, ["partitions", "migrate-shards"])
    assert first.exit_code == 0, first.output
    assert "airplay/stream_chunks: 4 day × shard partitions reported for 5 station-days" in first.output
    assert "station partitions deleted: 4" in first.output
    again = runner.invoke(main, ["partitions", "migrate-shards"])
    assert "airplay/stream_chunks: 0 day × shard partitions reported" in again.output
    shard = runner.invoke(main, ["partitions", "shard", "radio-north", "--day", "2026-11-02"])
    assert shard.output == "radio-north\ts21\t2026-11-02|s21\n"
