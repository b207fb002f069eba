"""Overlapping plays never reach the ledger: the playlogs check blocks it, in the same run and in the daily job.

The merge makes a station's plays disjoint by construction (tests/audio/test_plays_property.py), so to see the
check block, the playlogs asset is run once with a merge that behaves like the old one: it returns two plays
sharing two seconds of a crossfade.
"""

from datetime import date, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest
from dagster import AssetCheckKey, AssetKey, instance_for_test, materialize

import assets.airplay.assets as airplay_assets
from assets.airplay.assets import playlogs
from assets.airplay.checks import playlogs_within_partition
from assets.common.partitions import station_day_key
from assets.royalties.assets import royalty_ledger
from backbeat.airplay.tables import DETECTIONS, PLAYLOGS
from backbeat.royalties.tables import LEDGER, TARIFFS
from integrations.warehouse import Warehouse, WarehouseResource
from tests.assets.test_playlogs_boundary import detections_of_play

DAY = date(2026, 11, 2)
CHECK = AssetCheckKey(AssetKey(["airplay", "playlogs"]), "playlogs_within_partition")


@pytest.fixture
def warehouse(tmp_path) -> Warehouse:
    """Detections of two songs that crossfade at 06:03:00 on station s, and a tariff for s."""
    db = Warehouse(f"duckdb:///{tmp_path}/w.duckdb")
    rows = detections_of_play("T1", datetime(2026, 11, 2, 6, 0, 0), 6)  # 06:00:00 → 06:03:00
    rows += detections_of_play("T2", datetime(2026, 11, 2, 6, 3, 0), 4)  # 06:03:00 → 06:05:00
    db.replace(DETECTIONS, DETECTIONS.from_rows(rows))
    db.replace(
        TARIFFS,
        pl.DataFrame(
            {
                "tariff_id": ["s:2026-01-01"],
                "station_id": ["s"],
                "currency": ["EUR"],
                "rate_per_second": [Decimal("0.01")],
                "effective_from": [date(2026, 1, 1)],
                "effective_to": [None],
            },
            schema=TARIFFS.polars_schema,
        ),
    )
    return db


def _run(db: Warehouse, instance):
    return materialize(
        [playlogs, playlogs_within_partition, royalty_ledger],
        partition_key=station_day_key("s", DAY),
        instance=instance,
        resources={"warehouse": WarehouseResource(url=db.url)},
        raise_on_error=False,
    )


def _as_before_the_fix(*args, **kwargs) -> pl.DataFrame:
    """The merge as it was: the crossfade's seconds counted for both songs (T1 runs 2 s into T2)."""
    plays = _real_merge(*args, **kwargs)
    return plays.with_columns(
        end_utc=pl.when(pl.col("track_id") == "T1").then(pl.col("end_utc") + timedelta(seconds=2)).otherwise("end_utc")
    ).with_columns(duration_s=(pl.col("end_utc") - pl.col("start_utc")).dt.total_seconds())


_real_merge = airplay_assets.merge_detections


def test_overlapping_plays_block_the_ledger_in_the_same_run(warehouse, monkeypatch):
    db = warehouse
    with instance_for_test() as instance:
        monkeypatch.setattr(airplay_assets, "merge_detections", _as_before_the_fix)
        blocked = _run(db, instance)
        assert not blocked.success
        (evaluation,) = blocked.get_asset_check_evaluations()
        assert not evaluation.passed
        assert evaluation.metadata["overlapping"].value == 1
        assert evaluation.metadata["overlapping_seconds"].value == 2.0
        assert "T1 06:00:00–06:03:02" in evaluation.metadata["overlaps"].value
        materialized = {e.asset_key for e in blocked.get_asset_materialization_events()}
        assert materialized == {AssetKey(["airplay", "playlogs"])}  # the ledger never ran
        assert db.read(LEDGER).is_empty()

        monkeypatch.setattr(airplay_assets, "merge_detections", _real_merge)
        fixed = _run(db, instance)
        assert fixed.success
        (evaluation,) = fixed.get_asset_check_evaluations()
        assert evaluation.passed and evaluation.metadata["overlapping"].value == 0
    plays = db.read(PLAYLOGS).sort("start_utc")
    assert plays.select("track_id", "start_utc", "end_utc").rows() == [
        ("T1", datetime(2026, 11, 2, 6, 0), datetime(2026, 11, 2, 6, 3)),
        ("T2", datetime(2026, 11, 2, 6, 3), datetime(2026, 11, 2, 6, 5)),
    ]
    # 180 s + 120 s at 0.01 EUR/s: each second billed once.
    assert db.read(LEDGER).filter(pl.col("account") == "station_receivable")["amount_minor"].sum() == 300


def test_the_check_is_blocking_and_part_of_the_daily_station_job():
    from orchestration.definitions import defs

    (spec,) = playlogs_within_partition.check_specs
    assert spec.blocking
    job = defs.resolve_job_def("station_day_job")
    assert CHECK in job.asset_layer.asset_graph.asset_check_keys
