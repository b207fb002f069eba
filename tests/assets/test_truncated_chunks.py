"""A chunk cut short is stored with the seconds really there, and the rest is a capture gap."""

from datetime import UTC, datetime

import numpy as np
import soundfile as sf
from dagster import instance_for_test, materialize

from assets.airplay.assets import stream_chunks
from assets.common.partitions import station_day_key
from assets.common.paths import DataDirResource
from backbeat.airplay.tables import CAPTURE_GAPS, STREAM_CHUNKS
from integrations.warehouse import Warehouse, WarehouseResource

RATE = 22050


def write_mp3(path, seconds: float, seed: int) -> None:
    noise = np.random.default_rng(seed).standard_normal(int(RATE * seconds)).astype(np.float32) * 0.2
    sf.write(path, noise, RATE, format="MP3")


def test_truncated_mp3_is_stored_with_its_decoded_duration_and_a_gap(tmp_path):
    landing = tmp_path / "landing"
    landing.mkdir()
    for n in range(4):
        write_mp3(landing / f"north_20261102T0{n}0000Z.mp3", 30.0, n)
    whole = (landing / "north_20261102T020000Z.mp3").read_bytes()
    cut = landing / "north_20261102T020000Z.mp3"
    cut.write_bytes(whole[: len(whole) // 4])  # a quarter of the bytes: about 7.5 s of frames

    url = f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    with instance_for_test() as instance:
        result = materialize(
            [stream_chunks],
            partition_key=station_day_key("north", "2026-11-02"),
            instance=instance,
            resources={"data_dir": DataDirResource(data_dir=str(tmp_path)), "warehouse": WarehouseResource(url=url)},
        )
    assert result.success
    db = Warehouse(url)
    durations = dict(db.read(STREAM_CHUNKS).select("chunk_id", "duration_s").iter_rows())
    assert 5.0 < durations["north_20261102T020000Z"] < 10.0
    assert all(abs(v - 30.0) < 0.2 for k, v in durations.items() if k != "north_20261102T020000Z")
    [gap] = db.read(CAPTURE_GAPS).to_dicts()
    start = datetime(2026, 11, 2, 2, 0, tzinfo=UTC).replace(tzinfo=None)
    ends_after = (gap["gap_end_utc"] - start).total_seconds()
    assert abs(ends_after - durations["north_20261102T020000Z"] - gap["seconds"]) < 0.01
    assert 20.0 < gap["seconds"] < 25.0 and gap["reason"].startswith("truncated chunk:")
    metadata = result.asset_materializations_for_node("airplay__stream_chunks")[0].metadata
    assert metadata["truncated_chunks"].value == 1
