"""The warehouse client against a real DuckDB file and a real PostgreSQL: same tables, same answers."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import polars as pl
import psycopg2
import pytest
from embedded_pg import EmbeddedPostgres
from polars.testing import assert_frame_equal

from integrations.warehouse import Column, Table, Warehouse, table
from integrations.warehouse.tables import SQL_TYPES

# One column per portable type, plus a NOT NULL key.
ALL_TYPES = table(
    "support",
    "all_types",
    Column("id", "bigint", nullable=False),
    Column("title", "text"),
    Column("plays", "bigint"),
    Column("share", "double"),
    Column("explicit", "boolean"),
    Column("release_day", "date"),
    Column("played_at", "timestamp"),
    Column("amount", "decimal"),
    primary_key=("id",),
)

DAILY_PLAYS = table(
    "support",
    "daily_plays",
    Column("day", "date", nullable=False),
    Column("station", "text", nullable=False),
    Column("plays", "bigint", nullable=False),
    primary_key=("day", "station"),
)

DAY_1, DAY_2 = dt.date(2024, 3, 1), dt.date(2024, 3, 2)
NULL_STATION = pl.DataFrame({"day": [DAY_1, DAY_1], "station": ["kexp", None], "plays": [1, 2]})

AMOUNTS = [Decimal("123456789012.123456"), Decimal("-0.000001"), Decimal("0.100000"), None]


@pytest.fixture(params=["duckdb", "postgres"])
def warehouse(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Warehouse:
    """An empty warehouse: a new DuckDB file, or a freshly created database on the session's PostgreSQL."""
    if request.param == "duckdb":
        return Warehouse(f"duckdb:///{tmp_path_factory.mktemp('warehouse') / 'warehouse.duckdb'}")
    server: EmbeddedPostgres = request.getfixturevalue("postgres_server")
    return Warehouse(server.create_database("warehouse_test"))


def all_types_frame() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "id": [1, 2, 3, 4],
            "title": ["Åsa – “Live” 100%", "", "what?", None],
            "plays": [2**62, -1, 0, None],
            "share": [0.1, -1.5e300, float("inf"), None],
            "explicit": [True, False, True, None],
            "release_day": [dt.date(2024, 2, 29), dt.date(1970, 1, 1), dt.date(1, 1, 1), None],
            "played_at": [
                dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
                dt.datetime(1999, 12, 31),
                dt.datetime(2038, 1, 19, 3, 14, 8),
                None,
            ],
            "amount": AMOUNTS,
        },
        schema_overrides={"amount": pl.Decimal(18, 6)},
    )


def plays_frame(day: dt.date, plays: dict[str, int]) -> pl.DataFrame:
    return pl.DataFrame({"day": [day] * len(plays), "station": list(plays), "plays": list(plays.values())})


def stored(warehouse: Warehouse, tbl: Table) -> pl.DataFrame:
    return warehouse.read(tbl).sort(tbl.primary_key)


def test_every_portable_type_round_trips(warehouse: Warehouse) -> None:
    assert {c.type for c in ALL_TYPES.columns} == set(SQL_TYPES), "the table must cover every portable type"
    frame = all_types_frame()

    warehouse.ensure(ALL_TYPES)
    assert warehouse.replace(ALL_TYPES, frame) == 4

    back = stored(warehouse, ALL_TYPES)
    assert back.schema == pl.Schema(ALL_TYPES.polars_schema)
    assert_frame_equal(back, ALL_TYPES.conform(frame))
    assert back["amount"].to_list() == AMOUNTS  # exact decimals, not floats
    assert warehouse.scalar("SELECT SUM(amount) FROM support.all_types") == Decimal("123456789012.223455")


def test_read_of_a_missing_table_is_empty_and_typed(warehouse: Warehouse) -> None:
    back = warehouse.read(ALL_TYPES)
    assert back.is_empty()
    assert back.schema == pl.Schema(ALL_TYPES.polars_schema)


def test_replace_with_where_replaces_only_matching_rows_and_is_idempotent(warehouse: Warehouse) -> None:
    warehouse.replace(
        DAILY_PLAYS, pl.concat([plays_frame(DAY_1, {"kexp": 10, "wfmu": 20}), plays_frame(DAY_2, {"kexp": 1})])
    )
    day_2 = plays_frame(DAY_2, {"kexp": 5, "nts": 7})

    for _ in range(2):  # a re-run of the same partition must leave the same rows
        assert warehouse.replace(DAILY_PLAYS, day_2, where="day = ?", params=[DAY_2]) == 2
        assert stored(warehouse, DAILY_PLAYS).rows() == [
            (DAY_1, "kexp", 10),
            (DAY_1, "wfmu", 20),
            (DAY_2, "kexp", 5),
            (DAY_2, "nts", 7),
        ]


def test_replace_without_where_replaces_everything(warehouse: Warehouse) -> None:
    warehouse.replace(DAILY_PLAYS, plays_frame(DAY_1, {"kexp": 10}))
    warehouse.replace(DAILY_PLAYS, plays_frame(DAY_2, {"nts": 3}))
    assert stored(warehouse, DAILY_PLAYS).rows() == [(DAY_2, "nts", 3)]


def test_a_frame_missing_a_column_leaves_the_stored_rows_intact(warehouse: Warehouse) -> None:
    before = plays_frame(DAY_1, {"kexp": 10, "wfmu": 20})
    warehouse.replace(DAILY_PLAYS, before)

    # The DELETE runs before the frame is checked; the transaction must undo it.
    with pytest.raises(ValueError, match="lacks columns"):
        warehouse.replace(DAILY_PLAYS, plays_frame(DAY_1, {"kexp": 99}).drop("plays"), where="day = ?", params=[DAY_1])
    assert_frame_equal(stored(warehouse, DAILY_PLAYS), DAILY_PLAYS.conform(before))


def test_a_not_null_violation_leaves_the_stored_rows_intact(warehouse: Warehouse) -> None:
    before = plays_frame(DAY_1, {"kexp": 10, "wfmu": 20})
    warehouse.replace(DAILY_PLAYS, before)

    with pytest.raises((duckdb.Error, psycopg2.Error)):
        warehouse.replace(DAILY_PLAYS, NULL_STATION)
    assert_frame_equal(stored(warehouse, DAILY_PLAYS), DAILY_PLAYS.conform(before))


def test_a_not_null_violation_is_reported_as_one(warehouse: Warehouse) -> None:
    with pytest.raises((duckdb.ConstraintException, psycopg2.errors.NotNullViolation), match="station"):
        warehouse.replace(DAILY_PLAYS, NULL_STATION)


def test_literal_percent_signs_in_sql(warehouse: Warehouse) -> None:
    warehouse.replace(DAILY_PLAYS, plays_frame(DAY_1, {"100% radio": 4, "kexp": 10}))

    assert warehouse.scalar("SELECT '100%'") == "100%"
    assert warehouse.scalar("SELECT station FROM support.daily_plays WHERE station LIKE '100%'") == "100% radio"
    assert (
        warehouse.scalar("SELECT station FROM support.daily_plays WHERE station LIKE '%' || ?", ["radio"])
        == "100% radio"
    )
    assert warehouse.scalar("SELECT COUNT(*) FROM support.daily_plays WHERE station LIKE ?", ["%"]) == 2
    assert warehouse.scalar("SELECT 7 % ?", [4]) == 3
    warehouse.replace(DAILY_PLAYS, plays_frame(DAY_1, {}), where="station LIKE '1%'")
    assert stored(warehouse, DAILY_PLAYS)["station"].to_list() == ["kexp"]


def test_question_marks_inside_sql_literals(warehouse: Warehouse) -> None:
    assert warehouse.scalar("SELECT 'what?'") == "what?"
    assert warehouse.scalar("SELECT 'what?' || ?", ["!"]) == "what?!"


def _query_at_once(warehouse: Warehouse, threads: int) -> tuple[list[object], list[Exception]]:
    """`threads` threads released together, each asking `warehouse` one query: (answers, errors)."""
    import threading

    barrier, answers, errors = threading.Barrier(threads), [], []

    def query() -> None:
        barrier.wait()
        try:
            answers.append(warehouse.scalar("SELECT 42"))
        except Exception as exc:  # surfaced by the caller: a thread's exception would otherwise be lost
            errors.append(exc)

    workers = [threading.Thread(target=query) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return answers, errors


def test_threads_opening_one_duckdb_file_at_once_all_get_a_connection(tmp_path) -> None:
    """DuckDB's per-process instance cache raced when threads attached one file at the same moment ("Unique file
    handle conflict"; 49 of 200 rounds of 8 threads failed with bare duckdb.connect): the client opens one at a time."""
    for round_ in range(30):
        answers, errors = _query_at_once(Warehouse(f"duckdb:///{tmp_path}/w{round_}.duckdb", check_schema=False), 8)
        assert errors == [] and answers == [42] * 8
