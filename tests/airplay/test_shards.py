"""Stations hash stably into 32 shards, spread evenly enough that no partition carries much more than its share."""

import subprocess
import sys
from collections import Counter

import pytest

from backbeat.airplay.shards import SHARD_COUNT, SHARD_KEYS, by_shard, in_shard, shard_of
from backbeat.settings import REPO_ROOT


def test_a_station_s_shard_is_pinned_and_the_same_in_another_process():
    pinned = {"radio-north": "s21", "radio-south": "s22", "north": "s01", "south": "s03", "station-0001": "s21"}
    assert {station: shard_of(station) for station in pinned} == pinned  # a changed hash would move every station
    script = f"from backbeat.airplay.shards import shard_of; print(','.join(map(shard_of, {list(pinned)!r})))"
    other = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO_ROOT,
        env={"PYTHONHASHSEED": "12345", "PATH": ""},  # Python's own hash() would differ here
    )
    assert other.stdout.strip().split(",") == list(pinned.values())


def test_a_thousand_stations_spread_over_every_shard():
    counts = Counter(shard_of(f"station-{n:04d}") for n in range(1000))
    assert set(counts) == set(SHARD_KEYS) and len(SHARD_KEYS) == SHARD_COUNT == 32
    assert min(counts.values()) >= 15 and max(counts.values()) <= 50  # mean 31.25


def test_grouping_and_filtering_by_shard():
    stations = ["north", "west-39", "south", "north"]
    assert by_shard(stations) == {"s01": ["north", "west-39"], "s03": ["south"]}
    assert in_shard(stations, "s01") == ["north", "west-39"]
    assert in_shard(stations, "s02") == []
    with pytest.raises(ValueError, match="unknown shard 's32'"):
        in_shard(stations, "s32")
