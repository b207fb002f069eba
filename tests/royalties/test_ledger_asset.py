"""The royalty_ledger asset through Dagster, with its checks, on DuckDB and PostgreSQL."""

from datetime import date

from dagster import AssetKey, instance_for_test, materialize

from assets.common.partitions import station_day_key
from assets.royalties.assets import royalty_ledger
from assets.royalties.checks import (
    ledger_batches_balance,
    ledger_chain_intact,
    ledger_pays_every_play_once,
    ledger_reversals_negate_their_batches,
)
from backbeat.royalties.ledger import ensure_indexes
from integrations.warehouse import WarehouseResource

DAY = date(2026, 3, 2)  # as in conftest's `world`
CHECKS = (
    "ledger_batches_balance",
    "ledger_pays_every_play_once",
    "ledger_reversals_negate_their_batches",
    "ledger_chain_intact",
)


def run(world, instance, tags=None):
    result = materialize(
        [
            royalty_ledger,
            ledger_batches_balance,
            ledger_pays_every_play_once,
            ledger_reversals_negate_their_batches,
            ledger_chain_intact,
        ],
        partition_key=station_day_key("s1", DAY),
        instance=instance,
        tags=tags,
        resources={"warehouse": WarehouseResource(url=world.db.url)},
    )
    assert result.success
    metadata = result.asset_materializations_for_node("royalties__royalty_ledger")[0].metadata
    checks = {e.check_name: e for e in result.get_asset_check_evaluations()}
    assert set(checks) == set(CHECKS)
    assert all(e.passed for e in checks.values()), {n: e.metadata for n, e in checks.items()}
    return {k: v.value for k, v in metadata.items()}, checks


def test_materializing_posts_once_then_corrects_only_what_changed(world):
    world.plays("s2", DAY, [("x1", "T1", 60)])  # another station's play: not this partition's business
    with instance_for_test() as instance:
        first, checks = run(world, instance)
        assert (first["batches_posted"], first["batches_reversed"], first["plays_posted"]) == (1, 0, 3)
        assert (first["suspense_minor"], first["hold_minor"], first["balance_minor"]) == ({"EUR": 119}, {}, {"EUR": 0})
        assert checks["ledger_pays_every_play_once"].metadata["plays"].value == 3

        again, _ = run(world, instance)
        assert (again["batches_posted"], again["station_days_unchanged"], again["lines_written"]) == (0, 1, 0)

        world.dispute("d1", "p1", "s1", DAY, "pending")
        world.dispute("d2", "p3", "s1", DAY, "resolved", "upheld")
        held, checks = run(world, instance, tags={"backbeat/restatement_reason": "dispute stepped: d1, d2"})
        assert (held["batches_posted"], held["batches_reversed"], held["plays_posted"]) == (1, 1, 2)
        assert (held["hold_minor"], held["plays_upheld_unpaid"]) == ({"EUR": 226}, 1)
        assert checks["ledger_reversals_negate_their_batches"].metadata["reversals"].value == 1
        assert checks["ledger_pays_every_play_once"].metadata["upheld_disputes"].value == 1
        assert instance.get_latest_materialization_event(AssetKey(["royalties", "royalty_ledger"])) is not None

    reasons = world.batches()["reason"].to_list()
    assert reasons[-1].endswith("— dispute stepped: d1, d2")
    assert world.lines()["station_id"].unique().to_list() == ["s1"]


def test_indexes_for_the_station_day_queries(world):
    world.post()
    with world.db.connect() as conn:
        ensure_indexes(conn)  # idempotent
        if conn.kind == "postgres":
            names = set(
                conn.query("SELECT indexname FROM pg_indexes WHERE schemaname IN ('royalties', 'airplay')")[
                    "indexname"
                ].to_list()
            )
            assert {"royalty_ledger_station_day", "ledger_batches_station_day", "playlogs_station_day"} <= names
            conn.execute("SET LOCAL enable_seqscan = off")  # the table is tiny: ask whether the index can serve
            plan = "\n".join(
                conn.query(
                    "EXPLAIN SELECT * FROM royalties.royalty_ledger WHERE posted_for = ? AND station_id IN (?)",
                    [DAY, "s1"],
                )
                .to_series()
                .to_list()
            )
            assert "royalty_ledger_station_day" in plan
        else:
            assert conn.scalar("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'royalty_ledger'") == 0
