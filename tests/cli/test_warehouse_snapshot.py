"""Readers use a snapshot of the DuckDB warehouse, so holding it open never blocks the pipeline's writes."""

import duckdb
import polars as pl
from click.testing import CliRunner

from backbeat.cli import main
from integrations.warehouse import Column, Warehouse, table

NOTES = table("demo", "notes", Column("n", "bigint"), description="test table")


def test_a_reader_of_the_snapshot_does_not_block_a_write(tmp_path):
    data = tmp_path / "data"
    db = Warehouse(f"duckdb:///{data / 'warehouse.duckdb'}")
    db.replace(NOTES, pl.DataFrame({"n": [1, 2]}))

    result = CliRunner().invoke(main, ["warehouse", "snapshot"], env={"BACKBEAT_DATA_DIR": str(data)})
    assert result.exit_code == 0, result.output
    snapshot = data / "snapshots" / "warehouse.duckdb"
    assert str(snapshot) in result.output

    reader = duckdb.connect(str(snapshot), read_only=True)  # an analyst's notebook, left open
    try:
        assert reader.execute("SELECT sum(n) FROM warehouse.demo.notes").fetchone() == (3,)
        db.replace(NOTES, pl.DataFrame({"n": [5]}))  # the pipeline writes meanwhile, at once
        assert db.scalar("SELECT sum(n) FROM demo.notes") == 5
        assert reader.execute("SELECT sum(n) FROM demo.notes").fetchone() == (3,)  # the copy is stable
    finally:
        reader.close()

    again = CliRunner().invoke(main, ["warehouse", "snapshot"], env={"BACKBEAT_DATA_DIR": str(data)})
    assert again.exit_code == 0
    fresh = duckdb.connect(str(snapshot), read_only=True)
    assert fresh.execute("SELECT sum(n) FROM demo.notes").fetchone() == (5,)
    fresh.close()
    assert sorted(p.name for p in snapshot.parent.iterdir()) == ["warehouse.duckdb"]
