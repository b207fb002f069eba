"""The ledger defends itself (issue 12, point 4): the probes that got through before, on DuckDB and PostgreSQL.

Each probe tampers with a posted ledger the way the issue did: the hash chain names the batch, PostgreSQL refuses
the statement outright, and statements and exports refuse to write from a ledger that fails verification.
"""

from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import polars as pl
import pytest
from dagster import instance_for_test, materialize

from assets.common.partitions import station_day_key
from assets.common.paths import DataDirResource
from assets.exports.monthly import staged_monthly_finance_export
from assets.royalties.assets import royalty_ledger
from assets.royalties.checks import (
    ledger_batches_balance,
    ledger_chain_intact,
    ledger_pays_every_play_once,
    ledger_reversals_negate_their_batches,
)
from assets.royalties.statements import party_statements
from backbeat.royalties.ledger_chain import (
    LedgerUnsound,
    append_lines,
    headers_from_lines,
    require_sound_ledger,
    verify_ledger,
)
from backbeat.royalties.payouts import PayoutDecision, PayoutRequest, post_payouts
from backbeat.royalties.tables import CHAIN_COLUMNS, LEDGER, LEDGER_BATCHES
from integrations.warehouse import Warehouse, WarehouseResource

DAY = date(2026, 3, 2)  # as in conftest's `world`
ACTIVE = "s1|2026-03-02|s1:2026-01-01|r1"
LEDGER_CHECKS = [
    ledger_batches_balance,
    ledger_pays_every_play_once,
    ledger_reversals_negate_their_batches,
    ledger_chain_intact,
]


def sql(db: Warehouse, statement: str, params: list | None = None) -> None:
    with db.connect() as conn:
        conn.execute(statement, params or [])


def problems(db: Warehouse, station: str | None = None, day: date | None = None) -> list[str]:
    with db.connect() as conn:
        return verify_ledger(conn, station, day).problems


def two_party_lines(world) -> tuple[int, int]:
    """line_no of two party_payable lines of the active batch, of different parties."""
    lines = world.lines().filter((pl.col("batch_id") == ACTIVE) & (pl.col("account") == "party_payable"))
    first = lines.row(0, named=True)
    other = lines.filter(pl.col("party_id") != first["party_id"]).row(0, named=True)
    return first["line_no"], other["line_no"]


MOVE_10 = (
    "UPDATE royalties.royalty_ledger SET amount_minor = amount_minor + CASE WHEN line_no = ? THEN -10 "
    "ELSE 10 END WHERE batch_id = ? AND line_no IN (?, ?)"
)


def test_a_fresh_ledger_verifies(world):
    world.post()
    world.split("SS-W2", "work", "W2", [("E", "writer", 10000), ("E", "publisher", 10000)])
    world.post()  # a reversal and r2 in the station-day's stream
    assert problems(world.db) == []
    streams = world.batches().select("batch_id", "chain_stream", "chain_seq").rows()
    assert streams == [
        (ACTIVE, "station|s1|2026-03-02", 1),
        (f"{ACTIVE}|reversal", "station|s1|2026-03-02", 2),
        ("s1|2026-03-02|s1:2026-01-01|r2", "station|s1|2026-03-02", 3),
    ]


def test_moving_10_minor_units_between_party_lines(world):
    world.post()
    a, b = two_party_lines(world)
    if world.db.kind == "postgres":
        with pytest.raises(Exception, match="UPDATE on royalties.royalty_ledger refused: the table is append-only"):
            sql(world.db, MOVE_10, [a, ACTIVE, a, b])
        assert problems(world.db) == []
        return
    sql(world.db, MOVE_10, [a, ACTIVE, a, b])  # DuckDB has no triggers: the chain finds it
    assert world.lines()["amount_minor"].sum() == 0  # still balanced: the old checks cannot see it
    assert problems(world.db, "s1", DAY) == [
        f"batches whose lines do not match their hash (a line edited, added or removed): {ACTIVE}"
    ]
    assert problems(world.db) == problems(world.db, "s1", DAY)


def test_the_asset_checks_block_on_the_tampered_station_day(duckdb_world):
    world = duckdb_world  # PostgreSQL refuses the UPDATE itself (previous test)
    resources = {"warehouse": WarehouseResource(url=world.db.url)}
    with instance_for_test() as instance:
        first = materialize(
            [royalty_ledger, *LEDGER_CHECKS],
            partition_key=station_day_key("s1", DAY),
            instance=instance,
            resources=resources,
        )
        assert all(c.passed for c in first.get_asset_check_evaluations())
        a, b = two_party_lines(world)
        sql(world.db, MOVE_10, [a, ACTIVE, a, b])
        again = materialize(
            [royalty_ledger, *LEDGER_CHECKS],
            partition_key=station_day_key("s1", DAY),
            instance=instance,
            resources=resources,
            raise_on_error=False,
        )
    assert (
        again.asset_materializations_for_node("royalties__royalty_ledger")[0].metadata["lines_written"].value == 0
    )  # re-running posts nothing: the basis hash is unchanged
    checks = {c.check_name: c for c in again.get_asset_check_evaluations()}
    assert {n: c.passed for n, c in checks.items()} == {
        "ledger_batches_balance": True,
        "ledger_pays_every_play_once": True,
        "ledger_reversals_negate_their_batches": True,
        "ledger_chain_intact": False,
    }
    assert ACTIVE in checks["ledger_chain_intact"].metadata["named"].value
    assert all(spec.blocking for spec in ledger_chain_intact.check_specs)
    assert not again.success  # a blocking check failed


def test_deleting_a_line(world):
    world.post()
    delete = "DELETE FROM royalties.royalty_ledger WHERE batch_id = ? AND line_no = 2"
    if world.db.kind == "postgres":
        with pytest.raises(Exception, match="DELETE on royalties.royalty_ledger refused"):
            sql(world.db, delete, [ACTIVE])
        with pytest.raises(Exception, match="TRUNCATE on royalties.royalty_ledger refused"):
            sql(world.db, "TRUNCATE royalties.royalty_ledger")
        with pytest.raises(Exception, match="DELETE on royalties.ledger_batches refused"):
            sql(world.db, "DELETE FROM royalties.ledger_batches")
        return
    sql(world.db, delete, [ACTIVE])
    assert problems(world.db) == [
        f"batches that do not sum to zero in a currency: {ACTIVE}",
        f"batches whose lines do not match their hash (a line edited, added or removed): {ACTIVE}",
    ]


def test_deleting_a_batch_inside_its_stream_leaves_a_gap(duckdb_world):
    world = duckdb_world  # PostgreSQL refuses the DELETE (test_deleting_a_line)
    world.post()
    world.split("SS-W2", "work", "W2", [("E", "writer", 10000), ("E", "publisher", 10000)])
    world.post()
    reversal = f"{ACTIVE}|reversal"
    sql(world.db, "DELETE FROM royalties.royalty_ledger WHERE batch_id = ?", [reversal])
    sql(world.db, "DELETE FROM royalties.ledger_batches WHERE batch_id = ?", [reversal])
    assert problems(world.db) == [
        "streams with a batch missing before the batches named (a batch removed): s1|2026-03-02|s1:2026-01-01|r2",
        "batch headers whose chain hash does not recompute (the header edited): s1|2026-03-02|s1:2026-01-01|r2",
    ]


def test_editing_a_header(world):
    if world.db.kind == "postgres":
        world.post()
        with pytest.raises(Exception, match="UPDATE on royalties.ledger_batches refused"):
            sql(world.db, "UPDATE royalties.ledger_batches SET reason = 'nothing to see'")
        return
    world.post()
    sql(world.db, "UPDATE royalties.ledger_batches SET debit_minor = debit_minor - 10, reason = 'x'")
    assert problems(world.db) == [f"batch headers whose chain hash does not recompute (the header edited): {ACTIVE}"]


BAD_LINES = {  # column → value the issue inserted; the rest of the line is a copy of a real one
    "batch_id": "no-such-batch",
    "account": "not-an-account",
    "currency": "XXX",
}


@pytest.mark.parametrize("column", list(BAD_LINES))
def test_the_database_refuses_a_line_outside_the_ledgers_sets(world, column):
    world.post()
    before = world.lines()
    line = before.filter(pl.col("batch_id") == ACTIVE).row(0, named=True)
    line |= {"line_no": 99, column: BAD_LINES[column]}
    with pytest.raises(Exception, match="(?i)constraint|violates"), world.db.connect() as conn:
        conn.insert(LEDGER, LEDGER.from_rows([line]))
    assert world.lines().equals(before)  # nothing was added
    assert problems(world.db) == []


def test_the_database_refuses_a_second_debit_of_a_play_in_a_batch(world):
    world.post()
    debit = (
        world.lines()
        .filter((pl.col("batch_id") == ACTIVE) & (pl.col("account") == "station_receivable"))
        .row(0, named=True)
    )
    twice = LEDGER.from_rows([debit | {"line_no": 99}])
    if world.db.kind == "postgres":  # a partial unique index
        with pytest.raises(Exception, match="royalty_ledger_one_debit_per_play"), world.db.connect() as conn:
            conn.insert(LEDGER, twice)
        return
    with world.db.connect() as conn:  # DuckDB has no partial unique index: the blocking check finds it
        conn.insert(LEDGER, twice)
    assert problems(world.db) == [
        f"batches that do not sum to zero in a currency: {ACTIVE}",
        f"batches debiting one play's receivable more than once: {ACTIVE}",
        f"batches whose lines do not match their hash (a line edited, added or removed): {ACTIVE}",
    ]


def test_an_unbalanced_batch_is_named_even_when_sealed(world):
    lines = LEDGER.from_rows(
        [
            {
                "batch_id": "s1|2026-03-09|t|r1",
                "line_no": n,
                "entry_kind": "posting",
                "posted_for": date(2026, 3, 9),
                "accounting_period": "2026-03",
                "station_id": "s1",
                "play_id": "q",
                "recording_id": "T1",
                "account": account,
                "party_id": party,
                "amount_minor": amount,
                "currency": "EUR",
                "tariff_id": "t",
                "posted_at": datetime(2026, 3, 10),
            }
            for n, account, party, amount in ((1, "station_receivable", None, 500), (2, "party_payable", "A", -499))
        ]
    )
    append_lines(world.db, lines)  # sealed as written: the chain holds, the money does not
    assert problems(world.db) == ["batches that do not sum to zero in a currency: s1|2026-03-09|t|r1"]
    with pytest.raises(LedgerUnsound, match="do not sum to zero"):
        require_sound_ledger(world.db)


def legacy_tables(db: Warehouse) -> None:
    """The ledger tables as created before issue 12: no chain columns, no constraints, no trigger."""
    old_batches = replace(
        LEDGER_BATCHES,
        columns=tuple(c for c in LEDGER_BATCHES.columns if c.name not in CHAIN_COLUMNS),
        checks=(),
        append_only=False,
        seal_columns=(),
    )
    old_ledger = replace(LEDGER, checks=(), foreign_keys=(), append_only=False)
    lines = LEDGER.from_rows(
        [
            {
                "batch_id": "s9|2026-02-01|t|r1",
                "line_no": 1,
                "entry_kind": "posting",
                "posted_for": date(2026, 2, 1),
                "accounting_period": "2026-02",
                "station_id": "s9",
                "play_id": "old",
                "recording_id": "T1",
                "account": "station_receivable",
                "party_id": None,
                "amount_minor": 700,
                "currency": "EUR",
                "tariff_id": "t",
                "posted_at": datetime(2026, 2, 2, 2),
            },
            {
                "batch_id": "s9|2026-02-01|t|r1",
                "line_no": 2,
                "entry_kind": "posting",
                "posted_for": date(2026, 2, 1),
                "accounting_period": "2026-02",
                "station_id": "s9",
                "play_id": "old",
                "recording_id": "T1",
                "account": "party_payable",
                "party_id": "A",
                "amount_minor": -700,
                "currency": "EUR",
                "tariff_id": "t",
                "posted_at": datetime(2026, 2, 2, 2),
            },
        ]
    )
    with db.connect() as conn:
        conn.ensure(old_batches)
        conn.ensure(old_ledger)
        conn.insert(old_ledger, lines)
        conn.insert(old_batches, headers_from_lines(lines).with_columns(basis_hash=pl.lit("old")))


def test_an_old_warehouse_is_upgraded_and_sealed_once(world):
    legacy_tables(world.db)
    world.post()  # adds the chain columns, seals the old batch, then posts s1's day chained
    batches = world.batches().select("batch_id", "chain_stream", "chain_seq").rows()
    assert batches == [("s9|2026-02-01|t|r1", "station|s9|2026-02-01", 1), (ACTIVE, "station|s1|2026-03-02", 1)]
    assert world.batches()["chain_hash"].null_count() == 0
    assert problems(world.db) == []
    if world.db.kind == "postgres":  # the guards were added to the old tables too
        with pytest.raises(Exception, match="UPDATE on royalties.ledger_batches refused"):
            sql(world.db, "UPDATE royalties.ledger_batches SET chain_hash = NULL")
        with pytest.raises(Exception, match="royalty_ledger_batch_exists"):
            sql(
                world.db,
                "INSERT INTO royalties.royalty_ledger (batch_id, line_no, entry_kind) "
                "VALUES ('no-such-batch', 1, 'posting')",
            )
        return
    # DuckDB cannot add constraints to an old table: the line goes in, and the blocking check names it.
    sql(
        world.db,
        "INSERT INTO royalties.royalty_ledger (batch_id, line_no, entry_kind, posted_for, station_id, "
        "account, amount_minor, currency) VALUES ('no-such-batch', 1, 'posting', ?, 's1', "
        "'not-an-account', 10, 'XXX')",
        [DAY],
    )
    assert problems(world.db) == [
        "lines whose batch has no header (inserted?): no-such-batch",
        "lines on an account not in the ledger's set: no-such-batch",
        "lines in a currency not in the ledger's set: no-such-batch",
        "lines on the wrong side of their account: no-such-batch",
        "batches that do not sum to zero in a currency: no-such-batch",
    ]
    assert problems(world.db, "s1", DAY)[0] == "lines whose batch has no header (inserted?): no-such-batch"


def test_statements_and_exports_refuse_a_tampered_ledger(duckdb_world, tmp_path):
    world = duckdb_world  # PostgreSQL refuses the tampering itself
    world.post()
    resources = {
        "warehouse": WarehouseResource(url=world.db.url),
        "data_dir": DataDirResource(data_dir=str(tmp_path / "data")),
    }
    assert materialize([party_statements], partition_key="2026-03-01", resources=resources).success
    a, b = two_party_lines(world)
    sql(world.db, MOVE_10, [a, ACTIVE, a, b])
    with pytest.raises(LedgerUnsound, match=f"lines do not match their hash .*: {ACTIVE}"):
        require_sound_ledger(world.db)
    for asset in (party_statements, staged_monthly_finance_export):
        result = materialize([asset], partition_key="2026-03-01", resources=resources, raise_on_error=False)
        assert not result.success
        assert result.get_asset_materialization_events() == []
    assert not (tmp_path / "data" / "exports").exists() or not any((tmp_path / "data" / "exports").rglob("*.parquet"))


def test_posted_at_is_stored_as_naive_utc_whatever_zone_the_writer_has(world):
    paris = timezone(timedelta(hours=1))
    world.post(booked_at=datetime(2026, 3, 3, 3, 0, tzinfo=paris))
    assert world.lines()["posted_at"].unique().to_list() == [datetime(2026, 3, 3, 2, 0)]
    assert world.batches()["posted_at"].to_list() == [datetime(2026, 3, 3, 2, 0)]
    request = PayoutRequest("PO1", "A", "EUR", 100, date(2026, 3, 4), "approve", "finance", date(2026, 3, 5), None)
    decision = PayoutDecision(request, "paid", "finance", None, "payout|PO1", 100, to_post=True)
    assert post_payouts(world.db, [decision], datetime(2026, 3, 5, 12, 0, tzinfo=timezone(timedelta(hours=-5)))) == [
        "payout|PO1"
    ]
    payout = world.batches().filter(pl.col("batch_id") == "payout|PO1").row(0, named=True)
    assert (payout["posted_at"], payout["chain_stream"], payout["chain_seq"]) == (
        datetime(2026, 3, 5, 17, 0),
        "party|A",
        1,
    )
    assert problems(world.db) == []
